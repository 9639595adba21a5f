package org.hckeras.core;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * What an exported hckeras model needs to be used: the JSON that {@code hckeras.export.metadata}
 * embeds in the .tflite file (metadata entry {@value #METADATA_NAME}) and writes beside it as
 * {@code model.json}.
 *
 * <pre>{@code
 * ModelMetadata meta = ModelMetadata.fromTflite(modelBytes, "model.tflite");
 * Box expanded = box.expand(meta.contextPadding);
 * FloatImage crop = Resampler.cropAndResize(image, expanded, meta.inputHeight, meta.inputWidth,
 *     meta.fill);
 * }</pre>
 *
 * <p>Keys read: {@code format} ({@value #FORMAT}), {@code format_version} (1), {@code task},
 * {@code input_size} {@code [height, width]}, {@code output_size}, {@code num_maps}, and
 * optionally {@code grid_size}, {@code context_padding} (default 0.1), {@code thresholds.mask}
 * (default 0.5), the channel layout ({@code layout} as {@code MapLayout.to_config}, or its keys at
 * the top level, or a flat {@code map_names}) and the input format ({@code input_format} /
 * {@code normalization}: {@code "in_graph"} or {@code "none"}, or an object with {@code range},
 * {@code mean}, {@code std}, {@code fill}). Other keys are ignored.
 */
public final class ModelMetadata {
  /** Name of the metadata entry in the .tflite flatbuffer. */
  public static final String METADATA_NAME = "hckeras_metadata";
  /** Value of the {@code format} key. */
  public static final String FORMAT = "hckeras-tflite-metadata";
  /** The {@code format_version} values this reader understands. */
  public static final List<Integer> SUPPORTED_FORMAT_VERSIONS = Collections.singletonList(1);

  private static final List<String> TASKS = Arrays.asList("segmentation", "parts", "keypoints");

  public final int formatVersion;
  /** {@code segmentation}, {@code parts} or {@code keypoints}. */
  public final String task;
  public final int inputHeight;
  public final int inputWidth;
  /** S of the S x S output heatmaps. */
  public final int outputSize;
  /** Channels of the output (all categories). */
  public final int numMaps;
  /** K of the K x K classifier grid; 0 when the metadata does not say. */
  public final int gridSize;
  public final double contextPadding;
  public final double maskThreshold;
  /** Crop value of pixels outside the image, in [0, 255] pixel units. */
  public final float fill;
  public final Normalizer normalizer;
  public final List<Integer> categoryIds;
  public final List<String> categoryNames;
  /** For each category, the names of its maps, in channel order. */
  public final List<List<String>> mapNamesPerCategory;
  /**
   * The one category of a category-conditional model ({@code hckeras export --per-category}:
   * its output holds only that category's maps), or null for a model with every category's maps.
   */
  public final Integer conditionalCategoryId;
  /** The parsed JSON object. */
  public final Map<String, Object> json;

  private ModelMetadata(Map<String, Object> json, String where) throws ModelFormatException {
    this.json = json;
    Object format = json.get("format");
    if (!FORMAT.equals(format)) {
      throw new ModelFormatException(
          where + ": metadata format is " + describe(format) + ", expected \"" + FORMAT + "\"");
    }
    Object version = json.get("format_version");
    if (!(version instanceof Double)
        || !SUPPORTED_FORMAT_VERSIONS.contains((int) (double) (Double) version)
        || (double) (Double) version != Math.rint((Double) version)) {
      throw new ModelFormatException(
          where + ": metadata format_version " + describe(version)
              + " is not understood; this app reads versions " + SUPPORTED_FORMAT_VERSIONS
              + " (re-export the model, or update the app)");
    }
    formatVersion = (int) (double) (Double) version;
    Fields f = new Fields(json, where);
    task = f.string("task");
    if (!TASKS.contains(task)) {
      throw new ModelFormatException(where + ": unknown task \"" + task + "\"; valid: " + TASKS);
    }
    List<Object> inputSize = f.list("input_size");
    if (inputSize.size() != 2) {
      throw new ModelFormatException(where + ": input_size must be [height, width]");
    }
    inputHeight = positive(f, inputSize.get(0), "input_size[0]");
    inputWidth = positive(f, inputSize.get(1), "input_size[1]");
    outputSize = positive(f, json.get("output_size"), "output_size");
    numMaps = positive(f, json.get("num_maps"), "num_maps");
    gridSize = json.containsKey("grid_size") ? positive(f, json.get("grid_size"), "grid_size") : 0;
    contextPadding = f.number("context_padding", Box.DEFAULT_CONTEXT_PADDING);
    if (!(contextPadding >= 0) || Double.isInfinite(contextPadding)) {
      throw new ModelFormatException(where + ": context_padding must be >= 0");
    }
    Map<String, Object> thresholds = f.object("thresholds", true);
    maskThreshold =
        thresholds == null ? 0.5 : new Fields(thresholds, where + " thresholds").number("mask", 0.5);
    if (!(maskThreshold >= 0 && maskThreshold <= 1)) {
      throw new ModelFormatException(where + ": thresholds.mask must lie in [0, 1]");
    }

    Map<String, Object> inputFormat = f.object("input_format", true);
    Object normalization = json.get("normalization");
    if (inputFormat != null && normalization == null) {
      normalization = inputFormat.get("normalization");
    }
    Map<String, Object> settings = inputFormat;
    if (normalization instanceof Map) {
      @SuppressWarnings("unchecked")
      Map<String, Object> map = (Map<String, Object>) normalization;
      settings = map;
      normalization = map.get("normalization") == null ? map.get("type") : map.get("normalization");
    }
    Fields s = new Fields(settings == null ? Collections.emptyMap() : settings, where + " input");
    fill = (float) s.number("fill", 0.0);
    normalizer = normalizer(normalization, s, where);

    Map<String, Object> layout = f.object("layout", true);
    Fields l = layout == null ? f : new Fields(layout, where + " layout");
    List<List<String>> maps = new ArrayList<>();
    List<Integer> ids = new ArrayList<>();
    List<String> names = new ArrayList<>();
    if (l.has("map_names_per_category")) {
      for (Object perCategory : l.list("map_names_per_category")) {
        maps.add(strings(perCategory, where + ": map_names_per_category"));
      }
      for (Object id : l.list("category_ids")) {
        ids.add(integer(id, where + ": category_ids"));
      }
      names.addAll(
          l.has("category_names")
              ? strings(l.list("category_names"), where + ": category_names")
              : Collections.nCopies(ids.size(), ""));
      if (ids.size() != maps.size() || names.size() != maps.size()) {
        throw new ModelFormatException(
            where + ": category_ids, category_names and map_names_per_category differ in length");
      }
    } else {
      List<String> flat =
          f.has("map_names")
              ? strings(f.list("map_names"), where + ": map_names")
              : Collections.nCopies(numMaps, "");
      maps.add(flat);
      ids.add(f.has("category_id") ? integer(json.get("category_id"), where) : 1);
      names.add("");
    }
    int total = 0;
    for (List<String> m : maps) {
      total += m.size();
    }
    if (total != numMaps) {
      throw new ModelFormatException(
          where + ": num_maps is " + numMaps + " but the layout names " + total + " maps");
    }
    categoryIds = Collections.unmodifiableList(ids);
    categoryNames = Collections.unmodifiableList(names);
    mapNamesPerCategory = Collections.unmodifiableList(maps);
    Map<String, Object> conditional = f.object("category_conditional", true);
    if (conditional == null) {
      conditionalCategoryId = null;
    } else {
      if (conditional.get("category_id") == null || layout == null
          || !l.has("category_ids")) {
        throw new ModelFormatException(
            where + ": category_conditional needs category_id and the layout's category list");
      }
      conditionalCategoryId =
          integer(conditional.get("category_id"), where + ": category_conditional.category_id");
      if (!ids.contains(conditionalCategoryId)) {
        throw new ModelFormatException(
            where + ": category-conditional model for category " + conditionalCategoryId
                + ", which is not in its layout's categories " + ids);
      }
    }
  }

  /** Channels of the model's output: the conditional category's maps, or {@code num_maps}. */
  public int outputChannels() {
    if (conditionalCategoryId == null) {
      return numMaps;
    }
    int[] range = mapsOf(conditionalCategoryId);
    return range[1] - range[0];
  }

  /**
   * Parses metadata JSON.
   *
   * @param where names the source in error messages
   * @throws ModelFormatException for invalid JSON, an unknown format or version, or bad values
   */
  public static ModelMetadata fromJson(String text, String where) throws ModelFormatException {
    Map<String, Object> json;
    try {
      json = Json.parseObject(text, where);
    } catch (IllegalArgumentException ex) {
      throw new ModelFormatException(ex.getMessage(), ex);
    }
    return new ModelMetadata(json, where);
  }

  /** Reads the metadata embedded in a .tflite file's bytes. */
  public static ModelMetadata fromTflite(byte[] model) throws ModelFormatException {
    return fromTflite(model, "model");
  }

  /** Reads the metadata embedded in a .tflite file's bytes; errors name {@code where}. */
  public static ModelMetadata fromTflite(byte[] model, String where) throws ModelFormatException {
    byte[] bytes = TfliteMetadataReader.read(model, METADATA_NAME, where);
    String text;
    try {
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(bytes))
              .toString();
    } catch (CharacterCodingException ex) {
      throw new ModelFormatException(where + ": metadata is not UTF-8 text", ex);
    }
    return fromJson(text, where + " metadata \"" + METADATA_NAME + "\"");
  }

  /** Channels {@code [start, end)} of {@code categoryId}, as {@code MapLayout.maps_of}. */
  public int[] mapsOf(int categoryId) {
    int start = 0;
    for (int i = 0; i < categoryIds.size(); i++) {
      int count = mapNamesPerCategory.get(i).size();
      if (categoryIds.get(i) == categoryId) {
        return new int[] {start, start + count};
      }
      start += count;
    }
    throw new IllegalArgumentException(
        "category id " + categoryId + " is not predicted by this " + task + " model (it predicts "
            + categoryIds + ")");
  }

  private static Normalizer normalizer(Object kind, Fields s, String where)
      throws ModelFormatException {
    if (kind != null && !"in_graph".equals(kind) && !"none".equals(kind)
        && !"mean_std".equals(kind)) {
      throw new ModelFormatException(
          where + ": unsupported normalization " + describe(kind)
              + "; this app supports \"in_graph\", \"none\" and \"mean_std\"");
    }
    float low = 0f;
    float high = 255f;
    if (s.has("range")) {
      List<Object> range = s.list("range");
      if (range.size() != 2) {
        throw new ModelFormatException(where + ": input range must be [low, high]");
      }
      low = (float) number(range.get(0), where + ": range");
      high = (float) number(range.get(1), where + ": range");
    }
    float[] mean = s.has("mean") ? floats(s.list("mean"), where + ": mean") : new float[3];
    float[] std =
        s.has("std") ? floats(s.list("std"), where + ": std") : new float[] {1f, 1f, 1f};
    try {
      return new Normalizer(low, high, mean, std);
    } catch (IllegalArgumentException ex) {
      throw new ModelFormatException(where + ": " + ex.getMessage(), ex);
    }
  }

  private static int positive(Fields f, Object value, String key) throws ModelFormatException {
    int v = integer(value, f.where + ": " + key);
    if (v <= 0) {
      throw new ModelFormatException(f.where + ": " + key + " must be positive, got " + v);
    }
    return v;
  }

  private static int integer(Object value, String where) throws ModelFormatException {
    double v = number(value, where);
    if (v != Math.rint(v) || Math.abs(v) > Integer.MAX_VALUE) {
      throw new ModelFormatException(where + ": expected an integer, got " + v);
    }
    return (int) v;
  }

  private static double number(Object value, String where) throws ModelFormatException {
    if (!(value instanceof Double)) {
      throw new ModelFormatException(where + ": expected a number, got " + describe(value));
    }
    return (Double) value;
  }

  private static float[] floats(List<Object> values, String where) throws ModelFormatException {
    float[] out = new float[values.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = (float) number(values.get(i), where);
    }
    return out;
  }

  private static List<String> strings(Object value, String where) throws ModelFormatException {
    if (!(value instanceof List)) {
      throw new ModelFormatException(where + ": expected a list of strings, got "
          + describe(value));
    }
    List<String> out = new ArrayList<>();
    for (Object item : (List<?>) value) {
      if (!(item instanceof String)) {
        throw new ModelFormatException(where + ": expected strings, got " + describe(item));
      }
      out.add((String) item);
    }
    return Collections.unmodifiableList(out);
  }

  private static String describe(Object value) {
    if (value instanceof String) {
      return "\"" + value + "\"";
    }
    if (value instanceof Double && (Double) value == Math.rint((Double) value)) {
      return String.valueOf((long) (double) (Double) value);
    }
    return value == null ? "missing" : Json.typeName(value) + " " + value;
  }

  /** Typed access to one JSON object's keys, errors naming the key. */
  private static final class Fields {
    final Map<String, Object> map;
    final String where;

    Fields(Map<String, Object> map, String where) {
      this.map = map;
      this.where = where;
    }

    boolean has(String key) {
      return map.get(key) != null;
    }

    String string(String key) throws ModelFormatException {
      Object v = map.get(key);
      if (!(v instanceof String)) {
        throw new ModelFormatException(where + ": " + key + " must be a string, got "
            + describe(v));
      }
      return (String) v;
    }

    double number(String key, double fallback) throws ModelFormatException {
      Object v = map.get(key);
      return v == null ? fallback : ModelMetadata.number(v, where + ": " + key);
    }

    @SuppressWarnings("unchecked")
    List<Object> list(String key) throws ModelFormatException {
      Object v = map.get(key);
      if (!(v instanceof List)) {
        throw new ModelFormatException(where + ": " + key + " must be a list, got "
            + describe(v));
      }
      return (List<Object>) v;
    }

    @SuppressWarnings("unchecked")
    Map<String, Object> object(String key, boolean optional) throws ModelFormatException {
      Object v = map.get(key);
      if (v == null && optional) {
        return null;
      }
      if (!(v instanceof Map)) {
        throw new ModelFormatException(where + ": " + key + " must be an object, got "
            + describe(v));
      }
      return (Map<String, Object>) v;
    }
  }
}
