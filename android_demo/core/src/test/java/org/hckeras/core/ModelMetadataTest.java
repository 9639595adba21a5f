package org.hckeras.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.Test;

/** {@link ModelMetadata} on files written by {@code hckeras.export.metadata}. */
public class ModelMetadataTest {
  private static Map<String, Object> files() {
    return Golden.object(Golden.object(Golden.get().root, "metadata"), "files");
  }

  private static String file(String key) {
    return (String) files().get(key);
  }

  private static void assertExpected(ModelMetadata meta) {
    Map<String, Object> expected =
        Golden.object(Golden.object(Golden.get().root, "metadata"), "expected");
    assertEquals(1, meta.formatVersion);
    assertEquals(expected.get("task"), meta.task);
    List<Object> inputSize = Golden.list(expected, "input_size");
    assertEquals(((Double) inputSize.get(0)).intValue(), meta.inputHeight);
    assertEquals(((Double) inputSize.get(1)).intValue(), meta.inputWidth);
    assertEquals(Golden.integer(expected, "output_size"), meta.outputSize);
    assertEquals(Golden.integer(expected, "num_maps"), meta.numMaps);
    assertEquals(Golden.integer(expected, "grid_size"), meta.gridSize);
    assertEquals(Golden.number(expected, "context_padding"), meta.contextPadding, 0.0);
    assertEquals(Golden.number(expected, "mask_threshold"), meta.maskThreshold, 0.0);
    assertEquals(0f, meta.fill, 0f);
    assertTrue(meta.normalizer.isIdentity());
    assertEquals(expected.get("category_names"), meta.categoryNames);
    List<Integer> ids = new ArrayList<>();
    for (Object id : Golden.list(expected, "category_ids")) {
      ids.add(((Double) id).intValue());
    }
    assertEquals(ids, meta.categoryIds);
    assertArrayEquals(new int[] {1, 2}, meta.mapsOf(ids.get(1)));
    assertThrows(IllegalArgumentException.class, () -> meta.mapsOf(999));
  }

  @Test
  public void parsesTheSidecarJson() throws Exception {
    assertExpected(ModelMetadata.fromJson(Golden.get().text(file("json")), "model.json"));
  }

  @Test
  public void readsTheMetadataEmbeddedInTheTflite() throws Exception {
    assertExpected(ModelMetadata.fromTflite(Golden.get().bytes(file("tflite")), "model.tflite"));
  }

  @Test
  public void readsAMetadataBufferStoredOutsideTheFlatbuffer() throws Exception {
    assertExpected(ModelMetadata.fromTflite(Golden.get().bytes(file("tflite_external_buffer"))));
  }

  @Test
  public void rejectsAnUnknownFormatVersion() {
    ModelFormatException json =
        assertThrows(
            ModelFormatException.class,
            () -> ModelMetadata.fromJson(Golden.get().text(file("json_unknown_version")), "v2"));
    assertTrue(json.getMessage(), json.getMessage().contains("format_version 2"));
    ModelFormatException tflite =
        assertThrows(
            ModelFormatException.class,
            () -> ModelMetadata.fromTflite(Golden.get().bytes(file("tflite_unknown_version"))));
    assertTrue(tflite.getMessage(), tflite.getMessage().contains("format_version 2"));
  }

  @Test
  public void rejectsAnUnknownFormat() {
    ModelFormatException error =
        assertThrows(
            ModelFormatException.class,
            () -> ModelMetadata.fromJson(Golden.get().text(file("json_unknown_format")), "x"));
    assertTrue(error.getMessage(), error.getMessage().contains("something-else"));
  }

  @Test
  public void rejectsAModelWithoutHckerasMetadata() {
    ModelFormatException error =
        assertThrows(
            ModelFormatException.class,
            () -> ModelMetadata.fromTflite(Golden.get().bytes(file("tflite_without_metadata"))));
    assertTrue(error.getMessage(), error.getMessage().contains("min_runtime_version"));
    assertThrows(
        ModelFormatException.class,
        () -> ModelMetadata.fromTflite(Golden.get().bytes(file("tflite_not_json"))));
  }

  @Test
  public void rejectsBytesThatAreNotAModel() {
    assertThrows(ModelFormatException.class, () -> ModelMetadata.fromTflite(null));
    assertThrows(ModelFormatException.class, () -> ModelMetadata.fromTflite(new byte[0]));
    byte[] text = "{\"format\": \"hckeras-tflite-metadata\"}".getBytes(StandardCharsets.UTF_8);
    assertThrows(ModelFormatException.class, () -> ModelMetadata.fromTflite(text));
    assertThrows(ModelFormatException.class, () -> ModelMetadata.fromJson("{", "broken"));
    assertThrows(ModelFormatException.class, () -> ModelMetadata.fromJson("[1]", "array"));
  }

  @Test
  public void everyTruncationIsRejectedCleanly() throws Exception {
    byte[] model = Golden.get().bytes(file("tflite"));
    Map<String, Object> whole = ModelMetadata.fromTflite(model).json;
    int rejected = 0;
    for (int length = 0; length < model.length; length++) {
      byte[] truncated = Arrays.copyOf(model, length);
      try {
        // A cut after everything the metadata walk reads may pass (the interpreter rejects
        // such a file); it must then read the same metadata.
        assertEquals(whole, ModelMetadata.fromTflite(truncated).json);
      } catch (ModelFormatException expected) {
        rejected++;
      }
    }
    assertTrue("only " + rejected + " truncations rejected", rejected > model.length / 2);
  }

  @Test
  public void corruptedBytesNeverEscapeAsOtherExceptions() {
    byte[] model = Golden.get().bytes(file("tflite"));
    Random random = new Random(7);
    for (int trial = 0; trial < 3000; trial++) {
      byte[] corrupt = model.clone();
      for (int flips = 1 + random.nextInt(3); flips > 0; flips--) {
        // Keep the identifier so the walk itself is exercised.
        int at = 8 + random.nextInt(corrupt.length - 8);
        corrupt[at] = (byte) random.nextInt(256);
      }
      try {
        ModelMetadata.fromTflite(corrupt);
      } catch (ModelFormatException expected) {
        // A clear rejection.
      } catch (RuntimeException | OutOfMemoryError error) {
        throw new AssertionError("trial " + trial + " escaped as " + error, error);
      }
    }
  }

  @Test
  public void categoryConditionalModels() throws Exception {
    String full =
        "{\"format\": \"hckeras-tflite-metadata\", \"format_version\": 1,"
            + " \"task\": \"segmentation\", \"input_size\": [32, 32], \"output_size\": 4,"
            + " \"num_maps\": 2, \"layout\": {\"category_ids\": [1, 3],"
            + " \"category_names\": [\"a\", \"c\"], \"map_names_per_category\": [[\"a\"], [\"c\"]]}";
    ModelMetadata all = ModelMetadata.fromJson(full + "}", "all.tflite");
    assertEquals(null, all.conditionalCategoryId);
    assertEquals(2, all.outputChannels());
    ModelMetadata one =
        ModelMetadata.fromJson(
            full + ", \"category_conditional\": {\"category_id\": 3, \"map_names\": [\"c\"]}}",
            "cat3.tflite");
    assertEquals(Integer.valueOf(3), one.conditionalCategoryId);
    assertEquals(1, one.outputChannels());
    ModelFormatException error =
        assertThrows(
            ModelFormatException.class,
            () ->
                ModelMetadata.fromJson(
                    full + ", \"category_conditional\": {\"category_id\": 7}}", "cat7.tflite"));
    assertTrue(error.getMessage(), error.getMessage().contains("cat7.tflite"));
    assertTrue(error.getMessage(), error.getMessage().contains("category 7"));
    InstancePredictor predictor = new InstancePredictor(one);
    FloatImage output = new FloatImage(4, 4, 1, new float[16]);
    IllegalArgumentException wrong =
        assertThrows(
            IllegalArgumentException.class,
            () -> predictor.decode(output, Box.of(0, 0, 8, 8), 1, 0.9, 32, 32));
    assertTrue(wrong.getMessage(), wrong.getMessage().contains("category 3 only"));
    assertEquals(
        Arrays.asList("c"), predictor.decode(output, Box.of(0, 0, 8, 8), 3, 0.9, 32, 32).mapNames);
  }

  @Test
  public void defaultsAndNormalizationOptions() throws Exception {
    String minimal =
        "{\"format\": \"hckeras-tflite-metadata\", \"format_version\": 1, \"task\": \"keypoints\","
            + " \"input_size\": [32, 24], \"output_size\": 4, \"num_maps\": 2,"
            + " \"map_names\": [\"a\", \"b\"],"
            + " \"input_format\": {\"range\": [0, 1], \"normalization\": \"in_graph\"}}";
    ModelMetadata meta = ModelMetadata.fromJson(minimal, "minimal");
    assertEquals(0.1, meta.contextPadding, 0.0);
    assertEquals(0.5, meta.maskThreshold, 0.0);
    assertEquals(Arrays.asList("a", "b"), meta.mapNamesPerCategory.get(0));
    FloatImage pixel = new FloatImage(1, 1, 3, new float[] {0f, 255f, 51f});
    meta.normalizer.apply(pixel);
    assertArrayEquals(new float[] {0f, 1f, 0.2f}, pixel.data, 1e-6f);
    ModelFormatException error =
        assertThrows(
            ModelFormatException.class,
            () -> ModelMetadata.fromJson(minimal.replace("in_graph", "imagenet"), "m"));
    assertTrue(error.getMessage(), error.getMessage().contains("imagenet"));
    assertThrows(
        ModelFormatException.class,
        () -> ModelMetadata.fromJson(minimal.replace("\"num_maps\": 2", "\"num_maps\": 3"), "m"));
    assertThrows(
        ModelFormatException.class,
        () -> ModelMetadata.fromJson(minimal.replace("keypoints", "depth"), "m"));
    assertThrows(
        ModelFormatException.class,
        () -> ModelMetadata.fromJson(minimal.replace("[32, 24]", "[32]"), "m"));
  }
}
