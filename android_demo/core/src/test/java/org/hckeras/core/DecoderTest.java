package org.hckeras.core;

import static org.hckeras.core.Assertions.assertIdentical;
import static org.hckeras.core.Assertions.assertImageClose;
import static org.hckeras.core.Assertions.assertKeypoints;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.util.List;
import java.util.Map;
import org.junit.Test;

/** Mask, keypoint and part decoding against {@code hckeras.inference} (golden files). */
public class DecoderTest {
  @Test
  public void masksMatchPython() {
    Golden golden = Golden.get();
    List<Map<String, Object>> cases = golden.cases("mask");
    assertEquals(3, cases.size());
    for (Map<String, Object> c : cases) {
      List<Object> size = Golden.list(c, "image_size");
      boolean[] mask =
          MaskDecoder.decode(
              golden.image(Golden.object(c, "heatmap")),
              Golden.box(c, "box"),
              ((Double) size.get(0)).intValue(),
              ((Double) size.get(1)).intValue(),
              Golden.number(c, "threshold"));
      assertIdentical("mask " + Golden.name(c), golden.booleans(Golden.object(c, "expected")), mask);
      FloatImage probability =
          Resampler.pasteHeatmap(
              golden.image(Golden.object(c, "heatmap")),
              Golden.box(c, "box"),
              ((Double) size.get(0)).intValue(),
              ((Double) size.get(1)).intValue());
      assertEquals(
          "expected IoU " + Golden.name(c),
          Golden.number(c, "expected_iou"),
          MaskDecoder.expectedIou(probability, mask),
          1e-9);
    }
  }

  @Test
  public void expectedIouByHand() {
    FloatImage probability = FloatImage.zeros(1, 4, 1);
    float[] values = {0.9f, 0.6f, 0.2f, 0.0f};
    System.arraycopy(values, 0, probability.data, 0, 4);
    boolean[] mask = {true, true, false, false};
    // Intersection 0.9 + 0.6 over a union of 2 mask pixels + 0.2 outside (float32 values).
    assertEquals((0.9f + 0.6f) / (2 + 0.2f), MaskDecoder.expectedIou(probability, mask), 1e-7);
    assertEquals(0.0, MaskDecoder.expectedIou(FloatImage.zeros(1, 2, 1), new boolean[2]), 0.0);
    assertThrows(
        IllegalArgumentException.class,
        () -> MaskDecoder.expectedIou(probability, new boolean[3]));
  }

  @Test
  public void keypointsMatchPython() {
    Golden golden = Golden.get();
    List<Map<String, Object>> cases = golden.cases("keypoints");
    assertEquals(4, cases.size());
    for (Map<String, Object> c : cases) {
      Keypoint[] keypoints =
          KeypointDecoder.decode(
              golden.image(Golden.object(c, "heatmaps")),
              Golden.box(c, "box"),
              Golden.number(c, "score"));
      assertKeypoints(
          "keypoints " + Golden.name(c), golden.doubles(Golden.object(c, "expected")), keypoints);
    }
  }

  @Test
  public void partsMatchPython() {
    Golden golden = Golden.get();
    List<Map<String, Object>> cases = golden.cases("parts");
    assertEquals(3, cases.size());
    for (Map<String, Object> c : cases) {
      String name = "parts " + Golden.name(c);
      List<Object> size = Golden.list(c, "image_size");
      FloatImage probabilities =
          Resampler.pasteHeatmap(
              golden.image(Golden.object(c, "maps")),
              Golden.box(c, "box"),
              ((Double) size.get(0)).intValue(),
              ((Double) size.get(1)).intValue());
      FloatImage expected = golden.image(Golden.object(c, "probabilities"));
      assertImageClose(name + " probabilities", expected, probabilities, 1e-4f);
      boolean[] foreground = PartDecoder.foreground(probabilities, Golden.number(c, "threshold"));
      assertIdentical(name + " foreground", golden.booleans(Golden.object(c, "foreground")),
          foreground);
      int[] labels = golden.ints(Golden.object(c, "labels"));
      assertIdentical(name + " labels", labels, PartDecoder.labels(probabilities, foreground));
      // The labelling alone, on Python's own probabilities.
      assertIdentical(name + " labels of Python's probabilities", labels,
          PartDecoder.labels(expected, foreground));
    }
  }

  @Test
  public void docstringExamples() {
    FloatImage probabilities = new FloatImage(1, 2, 2, new float[] {0.2f, 0.7f, 0.9f, 0.1f});
    assertArrayEquals(
        new int[] {2, 0}, PartDecoder.labels(probabilities, new boolean[] {true, false}));
    FloatImage heatmaps = FloatImage.zeros(4, 4, 1);
    heatmaps.data[1 * 4 + 2] = 0.8f;
    Keypoint k = KeypointDecoder.decode(heatmaps, Box.of(0, 0, 8, 8), 0.0)[0];
    assertEquals(5.0, k.x, 0.0);
    assertEquals(3.0, k.y, 0.0);
    assertEquals(0.4, k.score, 1e-7);
  }

  @Test
  public void sigmoidIsStableForLargeScores() {
    assertEquals(0.5, KeypointDecoder.sigmoid(0), 0.0);
    assertEquals(1.0, KeypointDecoder.sigmoid(1000), 0.0);
    assertEquals(0.0, KeypointDecoder.sigmoid(-1000), 0.0);
    assertEquals(1 / (1 + Math.exp(-1.5)), KeypointDecoder.sigmoid(1.5), 1e-15);
  }

  @Test
  public void badArgumentsAreRejected() {
    FloatImage two = FloatImage.zeros(2, 2, 2);
    assertThrows(IllegalArgumentException.class, () -> MaskDecoder.threshold(two, 0.5));
    assertThrows(
        IllegalArgumentException.class, () -> MaskDecoder.threshold(FloatImage.zeros(2, 2, 1), 2));
    assertThrows(IllegalArgumentException.class, () -> PartDecoder.labels(two, new boolean[3]));
  }
}
