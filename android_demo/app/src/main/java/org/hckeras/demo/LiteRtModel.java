package org.hckeras.demo;

import java.io.Closeable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.hckeras.core.FloatImage;
import org.hckeras.core.ModelFormatException;
import org.hckeras.core.ModelMetadata;
import org.tensorflow.lite.DataType;
import org.tensorflow.lite.Interpreter;
import org.tensorflow.lite.Tensor;
import org.tensorflow.lite.gpu.CompatibilityList;
import org.tensorflow.lite.gpu.GpuDelegate;

/**
 * A LiteRT interpreter for one model: the GPU delegate when asked for and it initialises,
 * otherwise the CPU (XNNPACK), with a notice saying why. Not thread-safe: create, run and close
 * it on one thread (the GPU delegate is bound to the thread that created it).
 */
final class LiteRtModel implements Closeable {
  static final String GPU = "GPU";
  static final String CPU = "CPU (XNNPACK)";

  final ModelMetadata metadata;
  /** {@link #GPU} or {@link #CPU}: what actually runs the model. */
  final String delegate;
  /** Why the GPU is not used although it was asked for; null otherwise. */
  String notice;
  /** Duration of the last {@link #run} (interpreter only), in milliseconds. */
  double lastRunMillis;

  private final Interpreter interpreter;
  private final GpuDelegate gpuDelegate;
  private final ByteBuffer input;
  private final ByteBuffer output;

  private LiteRtModel(
      ModelMetadata metadata,
      Interpreter interpreter,
      GpuDelegate gpuDelegate,
      String delegate,
      String notice) {
    this.metadata = metadata;
    this.interpreter = interpreter;
    this.gpuDelegate = gpuDelegate;
    this.delegate = delegate;
    this.notice = notice;
    input = ByteBuffer.allocateDirect(4 * metadata.inputHeight * metadata.inputWidth * 3)
        .order(ByteOrder.nativeOrder());
    int s = metadata.outputSize;
    output = ByteBuffer.allocateDirect(4 * s * s * metadata.numMaps).order(ByteOrder.nativeOrder());
  }

  /**
   * Builds the interpreter.
   *
   * @param useGpu try the GPU delegate first
   * @throws ModelFormatException when the model cannot be loaded on the CPU either (an error
   *     from LiteRT, its native library failing to load, or too little memory), or its tensors
   *     do not match the metadata
   */
  static LiteRtModel create(ModelAsset asset, boolean useGpu) throws ModelFormatException {
    ByteBuffer model = ByteBuffer.allocateDirect(asset.bytes.length).order(ByteOrder.nativeOrder());
    model.put(asset.bytes);
    model.rewind();
    String notice = null;
    if (useGpu) {
      GpuDelegate gpu = null;
      Interpreter interpreter = null;
      try (CompatibilityList compatibility = new CompatibilityList()) {
        if (compatibility.isDelegateSupportedOnThisDevice()) {
          gpu = new GpuDelegate(compatibility.getBestOptionsForThisDevice());
          interpreter = new Interpreter(model, new Interpreter.Options().addDelegate(gpu));
          checkTensors(interpreter, asset);
          return new LiteRtModel(asset.metadata, interpreter, gpu, GPU, null);
        }
        notice = "The GPU delegate does not support this device; running on the "
            + CPU + ".";
      } catch (ModelFormatException ex) {
        close(interpreter, gpu);
        throw ex;
      } catch (RuntimeException | LinkageError ex) {
        // LinkageError: the delegate's native library failed to load.
        close(interpreter, gpu);
        notice = "The GPU delegate failed to initialise (" + ex.getMessage() + "); running on the "
            + CPU + ".";
      }
    }
    Interpreter interpreter;
    try {
      Interpreter.Options options =
          new Interpreter.Options()
              .setNumThreads(Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors())))
              .setUseXNNPACK(true);
      interpreter = new Interpreter(model, options);
    } catch (RuntimeException | LinkageError | OutOfMemoryError ex) {
      // LinkageError: LiteRT's native library failed to load; neither may escape the worker
      // thread, which would end the app.
      throw new ModelFormatException(
          asset.name + ": LiteRT cannot load the model on the " + CPU + " (" + ex + ")", ex);
    }
    try {
      checkTensors(interpreter, asset);
    } catch (ModelFormatException ex) {
      interpreter.close();
      throw ex;
    }
    return new LiteRtModel(asset.metadata, interpreter, null, CPU, notice);
  }

  /** Runs one crop ({@code (inputHeight, inputWidth, 3)}) -> {@code (S, S, num_maps)}. */
  FloatImage run(FloatImage crop) {
    input.rewind();
    input.asFloatBuffer().put(crop.data);
    output.rewind();
    long start = System.nanoTime();
    interpreter.run(input, output);
    lastRunMillis = (System.nanoTime() - start) / 1e6;
    int s = metadata.outputSize;
    FloatImage maps = FloatImage.zeros(s, s, metadata.numMaps);
    output.rewind();
    output.asFloatBuffer().get(maps.data);
    return maps;
  }

  @Override
  public void close() {
    close(interpreter, gpuDelegate);
  }

  private static void close(Interpreter interpreter, GpuDelegate gpu) {
    if (interpreter != null) {
      interpreter.close();
    }
    if (gpu != null) {
      gpu.close();
    }
  }

  private static void checkTensors(Interpreter interpreter, ModelAsset asset)
      throws ModelFormatException {
    ModelMetadata m = asset.metadata;
    int s = m.outputSize;
    check(asset, "input", interpreter.getInputTensor(0),
        new int[] {1, m.inputHeight, m.inputWidth, 3});
    check(asset, "output", interpreter.getOutputTensor(0), new int[] {1, s, s, m.numMaps});
  }

  private static void check(ModelAsset asset, String what, Tensor tensor, int[] expected)
      throws ModelFormatException {
    if (tensor.dataType() != DataType.FLOAT32 || !Arrays.equals(tensor.shape(), expected)) {
      throw new ModelFormatException(
          asset.name + ": the model's " + what + " is " + tensor.dataType() + " "
              + Arrays.toString(tensor.shape()) + " but its metadata says FLOAT32 "
              + Arrays.toString(expected));
    }
  }
}
