package org.hckeras.core;

import java.util.List;

/**
 * The per-detection steps around the model, as {@code hckeras.inference.predictor.Predictor}:
 * expand the box by the context padding, crop and resize it to the input size, normalize; then
 * keep the detection's category's channels of the {@code (S, S, num_maps)} output and decode them
 * for the task. Running the model itself is the caller's (LiteRT on Android).
 *
 * <pre>{@code
 * InstancePredictor predictor = new InstancePredictor(metadata);
 * FloatImage input = predictor.prepareInput(image, box);        // feed input.data to the model
 * InstancePredictor.Result r = predictor.decode(output, box, categoryId, score, image.height,
 *     image.width);
 * }</pre>
 */
public final class InstancePredictor {
  private final ModelMetadata metadata;

  public InstancePredictor(ModelMetadata metadata) {
    this.metadata = metadata;
  }

  public ModelMetadata metadata() {
    return metadata;
  }

  /** The model input for {@code box}: {@code (inputHeight, inputWidth, 3)}, normalized. */
  public FloatImage prepareInput(FloatImage image, Box box) {
    Box expanded = box.expand(metadata.contextPadding);
    FloatImage crop =
        Resampler.cropAndResize(
            image, expanded, metadata.inputHeight, metadata.inputWidth, metadata.fill);
    return metadata.normalizer.apply(crop);
  }

  /**
   * Decodes one output.
   *
   * @param output {@code (S, S, num_maps)} probabilities for the crop of {@code box}
   * @param box the detection's (not expanded) box
   * @param categoryId selects the channels ({@link ModelMetadata#mapsOf})
   * @param score the detection score (keypoint scores are scaled by its sigmoid)
   */
  public Result decode(
      FloatImage output, Box box, int categoryId, double score, int imageHeight, int imageWidth) {
    int s = metadata.outputSize;
    int channels = metadata.outputChannels();
    if (output.height != s || output.width != s || output.channels != channels) {
      throw new IllegalArgumentException(
          "model output is " + output + " but the metadata says (" + s + ", " + s + ", "
              + channels + ")");
    }
    int[] range;
    if (metadata.conditionalCategoryId == null) {
      range = metadata.mapsOf(categoryId);
    } else if (metadata.conditionalCategoryId != categoryId) {
      throw new IllegalArgumentException(
          "this model is category-conditional for category " + metadata.conditionalCategoryId
              + " only, but the detection has category " + categoryId
              + "; run it on that category's model (model_<variant>_cat" + categoryId
              + ".tflite)");
    } else {
      range = new int[] {0, channels};
    }
    FloatImage maps = output.channelRange(range[0], range[1]);
    Box expanded = box.expand(metadata.contextPadding);
    List<String> names =
        metadata.mapNamesPerCategory.get(metadata.categoryIds.indexOf(categoryId));
    switch (metadata.task) {
      case "segmentation":
        return new Result(
            expanded,
            names,
            MaskDecoder.decode(maps, expanded, imageHeight, imageWidth, metadata.maskThreshold),
            null,
            null);
      case "parts":
        FloatImage probabilities =
            Resampler.pasteHeatmap(maps, expanded, imageHeight, imageWidth);
        boolean[] foreground = PartDecoder.foreground(probabilities, metadata.maskThreshold);
        return new Result(
            expanded, names, foreground, PartDecoder.labels(probabilities, foreground), null);
      default:
        return new Result(
            expanded, names, null, null, KeypointDecoder.decode(maps, expanded, score));
    }
  }

  /** A decoded detection; fields that the task does not produce are null. */
  public static final class Result {
    public final Box expandedBox;
    /** Names of the category's maps: parts, keypoints, or the category (segmentation). */
    public final List<String> mapNames;
    /** Segmentation mask or parts foreground, {@code H * W} row-major. */
    public final boolean[] mask;
    /** Part labels ({@code p + 1}, 0 background), {@code H * W} row-major. */
    public final int[] partLabels;
    public final Keypoint[] keypoints;

    Result(
        Box expandedBox,
        List<String> mapNames,
        boolean[] mask,
        int[] partLabels,
        Keypoint[] keypoints) {
      this.expandedBox = expandedBox;
      this.mapNames = mapNames;
      this.mask = mask;
      this.partLabels = partLabels;
      this.keypoints = keypoints;
    }
  }
}
