package io.flotilla.common.problem;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Iterator;
import java.util.Map;

/**
 * Finds NUL characters (U+0000) in request data: Postgres text and jsonb cannot hold them, so a
 * request carrying one is refused up front (400 naming the field) rather than failing on storage.
 */
public final class NulCheck {

    private NulCheck() {}

    /** The path of the first string or key holding a NUL, below {@code path}; null when none. */
    public static String find(String path, JsonNode node) {
        if (node == null) {
            return null;
        }
        if (node.isTextual()) {
            return node.textValue().indexOf('\0') >= 0 ? path : null;
        }
        if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                String at = find(path + "[" + i + "]", node.get(i));
                if (at != null) {
                    return at;
                }
            }
        }
        if (node.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> f = it.next();
                String at = path + "." + f.getKey();
                if (f.getKey().indexOf('\0') >= 0) {
                    return at;
                }
                String inner = find(at, f.getValue());
                if (inner != null) {
                    return inner;
                }
            }
        }
        return null;
    }

    /** Whether a string holds a NUL. */
    public static boolean in(String s) {
        return s != null && s.indexOf('\0') >= 0;
    }

    /** The field error for a NUL found at {@code path}. */
    public static Problem.FieldError error(String path) {
        return new Problem.FieldError(
                path, "contains a NUL character (U+0000), which cannot be stored; remove it");
    }
}
