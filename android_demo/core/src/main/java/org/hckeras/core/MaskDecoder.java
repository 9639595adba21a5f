package org.hckeras.core;

/**
 * Figure-ground heatmap -> full-image mask, as {@code hckeras.inference.paste.paste_mask}: paste
 * the {@code (S, S)} heatmap into the image ({@link Resampler#pasteHeatmap}) and keep the pixels
 * whose probability is {@code >=} the threshold.
 */
public final class MaskDecoder {
  private MaskDecoder() {}

  /**
   * Thresholds a single-channel probability map.
   *
   * @param probability {@code (H, W, 1)}
   * @param threshold a pixel is in the mask when its probability is {@code >=} this
   * @return {@code H * W} booleans, row-major
   */
  public static boolean[] threshold(FloatImage probability, double threshold) {
    if (probability.channels != 1) {
      throw new IllegalArgumentException(
          "mask threshold needs a single-channel map, got " + probability);
    }
    checkThreshold(threshold);
    // numpy compares a float32 array with a Python float in float32 (NEP 50).
    float t = (float) threshold;
    boolean[] mask = new boolean[probability.data.length];
    for (int i = 0; i < mask.length; i++) {
      mask[i] = probability.data[i] >= t;
    }
    return mask;
  }

  /**
   * Pastes a {@code (S, S, 1)} heatmap predicted on {@code expandedBox} and thresholds it.
   *
   * @return {@code imageHeight * imageWidth} booleans, row-major
   */
  public static boolean[] decode(
      FloatImage heatmap, Box expandedBox, int imageHeight, int imageWidth, double threshold) {
    return threshold(
        Resampler.pasteHeatmap(heatmap, expandedBox, imageHeight, imageWidth), threshold);
  }

  /**
   * Expected IoU of {@code mask} with a mask drawn from {@code probability}, as {@code
   * hckeras.inference.mask_quality.expected_iou}: {@code sum(p in mask) / (|mask| + sum(p outside
   * mask))}. Multiplied into a detection's score it ranks sharp masks above blurred ones (Python's
   * {@code Predictor(scoring="mask")}).
   *
   * @param probability {@code (H, W, 1)}
   * @param mask {@code H * W} booleans, row-major
   * @return in [0, 1]; 0 for an empty mask
   */
  public static double expectedIou(FloatImage probability, boolean[] mask) {
    if (probability.channels != 1 || mask.length != probability.data.length) {
      throw new IllegalArgumentException(
          "expected IoU needs a single-channel map and a mask of its size, got "
              + probability
              + " and "
              + mask.length
              + " mask pixels");
    }
    double inside = 0;
    double union = 0;
    for (int i = 0; i < mask.length; i++) {
      if (mask[i]) {
        inside += probability.data[i];
        union += 1;
      } else {
        union += probability.data[i];
      }
    }
    return union > 0 ? inside / union : 0.0;
  }

  static void checkThreshold(double threshold) {
    if (!(threshold >= 0 && threshold <= 1)) {
      throw new IllegalArgumentException("threshold must lie in [0, 1], got " + threshold);
    }
  }
}
