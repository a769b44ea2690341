package io.flotilla.executor.workflow;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * JSON Schema (2020-12) checks of run inputs (against the workflow's input schema) and step
 * outputs; each problem as "path: message".
 */
public final class JsonSchemas {

    private static final JsonSchemaFactory FACTORY =
            JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);
    private static final Map<String, JsonSchema> CACHE = new ConcurrentHashMap<>();

    private JsonSchemas() {}

    /** The problems of {@code value} against {@code schema}; empty when it conforms. */
    public static List<String> problems(JsonNode schema, JsonNode value) {
        String key = schema.toString();
        JsonSchema compiled = CACHE.get(key);
        if (compiled == null) {
            compiled = FACTORY.getSchema(schema);
            if (CACHE.size() < 1_000) {
                CACHE.put(key, compiled);
            }
        }
        return compiled.validate(value).stream()
                .map(ValidationMessage::getMessage)
                .sorted()
                .toList();
    }
}
