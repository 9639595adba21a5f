package org.hckeras.demo;

import android.content.ActivityNotFoundException;
import android.graphics.Bitmap;
import android.graphics.BitmapFactory;
import android.graphics.Matrix;
import android.net.Uri;
import android.os.Bundle;
import android.os.Handler;
import android.os.Looper;
import android.view.View;
import android.widget.AdapterView;
import android.widget.ArrayAdapter;
import android.widget.Button;
import android.widget.Spinner;
import android.widget.TextView;
import androidx.activity.result.ActivityResultLauncher;
import androidx.activity.result.PickVisualMediaRequest;
import androidx.activity.result.contract.ActivityResultContracts;
import androidx.appcompat.app.AppCompatActivity;
import androidx.appcompat.widget.SwitchCompat;
import androidx.core.content.FileProvider;
import androidx.exifinterface.media.ExifInterface;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.hckeras.core.Box;
import org.hckeras.core.FloatImage;
import org.hckeras.core.InstancePredictor;
import org.hckeras.core.ModelFormatException;
import org.hckeras.core.ModelMetadata;

/**
 * Pick or take a photo, drag a box around an object, and see the model's mask, part labels or
 * keypoints for it, with the latency and the delegate (GPU or CPU) that ran the model.
 *
 * <p>All model work runs on one worker thread, which alone touches {@link #model}, {@link
 * #asset} and {@link #pixels}; the UI thread only posts work to it and shows results.
 */
public class MainActivity extends AppCompatActivity {
  /** Longest photo side kept (pixels); larger photos are downscaled when decoded. */
  private static final int MAX_PHOTO_SIDE = 1600;
  /**
   * Detection score given to a drawn box: a sure detection, so keypoint scores are their heatmap
   * values times sigmoid(10), about 1.
   */
  private static final double PROMPT_SCORE = 10.0;

  private final ExecutorService worker = Executors.newSingleThreadExecutor();
  private final Handler ui = new Handler(Looper.getMainLooper());

  // Worker thread only.
  private ModelAsset asset;
  private LiteRtModel model;
  private FloatImage pixels;

  // UI thread only.
  private BoxPromptView promptView;
  private TextView statusText;
  private TextView infoText;
  private TextView noticeText;
  private TextView errorText;
  private Spinner modelSpinner;
  private Spinner categorySpinner;
  private SwitchCompat gpuSwitch;
  private ModelMetadata metadata;
  /** The category spinner position the shown result is for (-1: none). */
  private int categoryPosition = -1;
  private List<String> modelNames = Collections.emptyList();
  private Uri cameraUri;
  private boolean hasPhoto;

  private final ActivityResultLauncher<PickVisualMediaRequest> pickPhoto =
      registerForActivityResult(
          new ActivityResultContracts.PickVisualMedia(),
          uri -> {
            if (uri != null) {
              loadPhoto(uri);
            }
          });

  private final ActivityResultLauncher<Uri> takePhoto =
      registerForActivityResult(
          new ActivityResultContracts.TakePicture(),
          saved -> {
            if (Boolean.TRUE.equals(saved) && cameraUri != null) {
              loadPhoto(cameraUri);
            }
          });

  @Override
  protected void onCreate(Bundle savedInstanceState) {
    super.onCreate(savedInstanceState);
    setContentView(R.layout.activity_main);
    promptView = findViewById(R.id.prompt_view);
    statusText = findViewById(R.id.status_text);
    infoText = findViewById(R.id.info_text);
    noticeText = findViewById(R.id.notice_text);
    errorText = findViewById(R.id.error_text);
    modelSpinner = findViewById(R.id.model_spinner);
    categorySpinner = findViewById(R.id.category_spinner);
    gpuSwitch = findViewById(R.id.gpu_switch);
    Button pickButton = findViewById(R.id.pick_button);
    Button takeButton = findViewById(R.id.take_button);
    Button runButton = findViewById(R.id.run_button);

    pickButton.setOnClickListener(
        v ->
            pickPhoto.launch(
                new PickVisualMediaRequest.Builder()
                    .setMediaType(ActivityResultContracts.PickVisualMedia.ImageOnly.INSTANCE)
                    .build()));
    takeButton.setOnClickListener(v -> launchCamera());
    runButton.setOnClickListener(v -> runOnBox());
    promptView.setListener(box -> runOnBox());
    gpuSwitch.setOnCheckedChangeListener((button, checked) -> loadSelectedModel());
    categorySpinner.setOnItemSelectedListener(
        new SimpleSelection() {
          @Override
          void onSelected(int position) {
            // Only a change of category reruns: the position 0 that setAdapter selects (reported
            // on the next layout) is the run onModelReady has already started.
            if (position != categoryPosition) {
              categoryPosition = position;
              runOnBox();
            }
          }
        });

    try {
      modelNames = ModelAsset.list(getAssets());
    } catch (IOException ex) {
      showError("Cannot list the app's assets: " + ex.getMessage());
    }
    if (modelNames.isEmpty()) {
      showError(getString(R.string.no_models));
      return;
    }
    modelSpinner.setAdapter(
        new ArrayAdapter<>(this, android.R.layout.simple_spinner_dropdown_item, modelNames));
    modelSpinner.setOnItemSelectedListener(
        new SimpleSelection() {
          @Override
          void onSelected(int position) {
            loadSelectedModel();
          }
        });
  }

  @Override
  protected void onDestroy() {
    super.onDestroy();
    worker.execute(this::closeModel);
    worker.shutdown();
  }

  // ---- Model ----

  private void loadSelectedModel() {
    int position = modelSpinner.getSelectedItemPosition();
    if (position < 0 || position >= modelNames.size()) {
      return;
    }
    String name = modelNames.get(position);
    boolean useGpu = gpuSwitch.isChecked();
    metadata = null;
    statusText.setText(getString(R.string.loading_model, name));
    worker.execute(
        () -> {
          closeModel();
          try {
            asset = ModelAsset.load(getAssets(), name);
            model = LiteRtModel.create(asset, useGpu);
          } catch (IOException
              | ModelFormatException
              | RuntimeException
              | LinkageError
              | OutOfMemoryError ex) {
            closeModel();
            String message = ex.getMessage() != null ? ex.getMessage() : ex.toString();
            ui.post(() -> onModelFailed(message));
            return;
          }
          LiteRtModel loaded = model;
          ui.post(() -> onModelReady(loaded.metadata, loaded.delegate, loaded.notice));
        });
  }

  private void closeModel() {
    if (model != null) {
      model.close();
      model = null;
    }
    asset = null;
  }

  private void onModelFailed(String message) {
    infoText.setText("");
    noticeText.setVisibility(View.GONE);
    categorySpinner.setAdapter(null);
    categoryPosition = -1;
    showError(message);
    statusText.setText("");
  }

  private void onModelReady(ModelMetadata loaded, String delegate, String notice) {
    metadata = loaded;
    hideError();
    showNotice(notice);
    infoText.setText(
        getString(
            R.string.model_info,
            loaded.task,
            delegate,
            loaded.inputWidth,
            loaded.inputHeight,
            loaded.outputSize,
            loaded.numMaps));
    List<String> categories = new ArrayList<>();
    for (int i = 0; i < loaded.categoryIds.size(); i++) {
      String name = loaded.categoryNames.get(i);
      categories.add((name.isEmpty() ? "category" : name) + " (id " + loaded.categoryIds.get(i)
          + ")");
    }
    categorySpinner.setAdapter(
        new ArrayAdapter<>(this, android.R.layout.simple_spinner_dropdown_item, categories));
    categoryPosition = 0; // what the new adapter selects; its selection callback must not rerun
    statusText.setText(hasPhoto ? R.string.hint_draw_box : R.string.hint_no_photo);
    runOnBox();
  }

  // ---- Photo ----

  private void launchCamera() {
    try {
      File folder = new File(getCacheDir(), "photos");
      if (!folder.isDirectory() && !folder.mkdirs()) {
        showError("Cannot create " + folder);
        return;
      }
      cameraUri =
          FileProvider.getUriForFile(
              this, getPackageName() + ".fileprovider", new File(folder, "capture.jpg"));
      takePhoto.launch(cameraUri);
    } catch (ActivityNotFoundException ex) {
      showError(getString(R.string.no_camera));
    }
  }

  private void loadPhoto(Uri uri) {
    promptView.clearResult();
    worker.execute(
        () -> {
          Bitmap bitmap;
          try {
            bitmap = decodePhoto(uri);
          } catch (IOException | RuntimeException | OutOfMemoryError ex) {
            String message = "Cannot read the photo: " + ex.getMessage();
            ui.post(() -> showError(message));
            return;
          }
          int width = bitmap.getWidth();
          int height = bitmap.getHeight();
          int[] argb = new int[width * height];
          bitmap.getPixels(argb, 0, width, 0, 0, width, height);
          pixels = FloatImage.fromArgb(argb, width, height);
          ui.post(
              () -> {
                hasPhoto = true;
                hideError();
                promptView.setPhoto(bitmap);
                statusText.setText(R.string.hint_draw_box);
              });
        });
  }

  /** Decodes a photo upright (EXIF orientation applied), longest side at most MAX_PHOTO_SIDE. */
  private Bitmap decodePhoto(Uri uri) throws IOException {
    BitmapFactory.Options bounds = new BitmapFactory.Options();
    bounds.inJustDecodeBounds = true;
    try (InputStream in = open(uri)) {
      BitmapFactory.decodeStream(in, null, bounds);
    }
    if (bounds.outWidth <= 0 || bounds.outHeight <= 0) {
      throw new IOException("not an image the system can decode");
    }
    BitmapFactory.Options options = new BitmapFactory.Options();
    options.inPreferredConfig = Bitmap.Config.ARGB_8888;
    options.inSampleSize = 1;
    while (Math.max(bounds.outWidth, bounds.outHeight) / (options.inSampleSize * 2)
        >= MAX_PHOTO_SIDE) {
      options.inSampleSize *= 2;
    }
    Bitmap bitmap;
    try (InputStream in = open(uri)) {
      bitmap = BitmapFactory.decodeStream(in, null, options);
    }
    if (bitmap == null) {
      throw new IOException("not an image the system can decode");
    }
    Matrix transform = new Matrix();
    try (InputStream in = open(uri)) {
      ExifInterface exif = new ExifInterface(in);
      if (exif.isFlipped()) {
        transform.postScale(-1, 1);
      }
      transform.postRotate(exif.getRotationDegrees());
    } catch (IOException ex) {
      // No readable EXIF: keep the pixels as stored.
    }
    float scale = Math.min(1f, (float) MAX_PHOTO_SIDE / Math.max(bitmap.getWidth(),
        bitmap.getHeight()));
    transform.postScale(scale, scale);
    if (!transform.isIdentity()) {
      bitmap = Bitmap.createBitmap(bitmap, 0, 0, bitmap.getWidth(), bitmap.getHeight(), transform,
          true);
    }
    return bitmap.getConfig() == Bitmap.Config.ARGB_8888
        ? bitmap
        : bitmap.copy(Bitmap.Config.ARGB_8888, false);
  }

  private InputStream open(Uri uri) throws IOException {
    InputStream in = getContentResolver().openInputStream(uri);
    if (in == null) {
      throw new IOException("cannot open " + uri);
    }
    return in;
  }

  // ---- Inference ----

  private void runOnBox() {
    Box box = promptView.box();
    if (metadata == null || !hasPhoto) {
      return;
    }
    if (box == null) {
      statusText.setText(R.string.hint_draw_box);
      return;
    }
    int position = Math.max(0, categorySpinner.getSelectedItemPosition());
    int categoryId = metadata.categoryIds.get(Math.min(position, metadata.categoryIds.size() - 1));
    statusText.setText(R.string.running);
    worker.execute(() -> infer(box, categoryId));
  }

  /** Worker thread: crop, run, decode, render; posts the result or an error. */
  private void infer(Box box, int categoryId) {
    if (model == null || pixels == null) {
      ui.post(() -> statusText.setText(""));
      return;
    }
    try {
      InstancePredictor predictor = new InstancePredictor(model.metadata);
      long start = System.nanoTime();
      FloatImage input = predictor.prepareInput(pixels, box);
      long cropped = System.nanoTime();
      FloatImage output = runWithFallback(input);
      long ran = System.nanoTime();
      InstancePredictor.Result result =
          predictor.decode(output, box, categoryId, PROMPT_SCORE, pixels.height, pixels.width);
      Bitmap overlay = OverlayRenderer.render(result, pixels.width, pixels.height);
      long decoded = System.nanoTime();
      String latency =
          String.format(
              Locale.US,
              getString(R.string.latency),
              model.lastRunMillis,
              model.delegate,
              (cropped - start) / 1e6,
              (decoded - ran) / 1e6);
      String notice = model.notice;
      ui.post(
          () -> {
            hideError();
            showNotice(notice);
            promptView.setResult(
                overlay, result.keypoints, result.keypoints == null ? null : result.mapNames);
            statusText.setText(latency);
          });
    } catch (ModelFormatException | RuntimeException | LinkageError | OutOfMemoryError ex) {
      String message =
          "Inference failed: " + (ex.getMessage() != null ? ex.getMessage() : ex.toString());
      ui.post(() -> showError(message));
    }
  }

  /** Runs the model; a GPU run that fails rebuilds the interpreter on the CPU and retries. */
  private FloatImage runWithFallback(FloatImage input) throws ModelFormatException {
    try {
      return model.run(input);
    } catch (RuntimeException ex) {
      if (!LiteRtModel.GPU.equals(model.delegate)) {
        throw ex;
      }
      model.close();
      model = null;
      model = LiteRtModel.create(asset, false);
      model.notice = "The GPU delegate failed to run the model (" + ex.getMessage()
          + "); switched to the " + LiteRtModel.CPU + ".";
      return model.run(input);
    }
  }

  // ---- Messages ----

  private void showError(String message) {
    errorText.setText(message);
    errorText.setVisibility(View.VISIBLE);
  }

  private void hideError() {
    errorText.setVisibility(View.GONE);
  }

  private void showNotice(String notice) {
    noticeText.setText(notice);
    noticeText.setVisibility(notice == null ? View.GONE : View.VISIBLE);
  }

  /** An item-selected listener that ignores "nothing selected". */
  private abstract static class SimpleSelection implements AdapterView.OnItemSelectedListener {
    abstract void onSelected(int position);

    @Override
    public void onItemSelected(AdapterView<?> parent, View view, int position, long id) {
      onSelected(position);
    }

    @Override
    public void onNothingSelected(AdapterView<?> parent) {}
  }
}
