package io.flotilla.executor.workflow;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.List;

/**
 * JSON Schema (2020-12) checks of run inputs (against the workflow's input schema) and step
 * outputs; each problem as "path: message".
 */
@ApplicationScoped
public class JsonSchemas {

    /** Loads no documents: a schema's references stay inside it (the validator refuses others). */
    private static final JsonSchemaFactory FACTORY =
            JsonSchemaFactory.getInstance(
                    SpecVersion.VersionFlag.V202012,
                    b -> b.schemaLoaders(loaders -> loaders.values(List::clear)));

    /** {@code pattern} runs on RE2J: linear time, whatever the pattern and the value. */
    private static final SchemaValidatorsConfig CONFIG =
            SchemaValidatorsConfig.builder()
                    .regularExpressionFactory(
                            regex -> {
                                com.google.re2j.Pattern p = com.google.re2j.Pattern.compile(regex);
                                return value -> p.matcher(value).find();
                            })
                    .build();

    /** Compiled schemas by their text, the 1,000 used most (an evicted one is compiled again). */
    private final Cache<String, JsonSchema> cache =
            Caffeine.newBuilder().maximumSize(1_000).build();

    /** The problems of {@code value} against {@code schema}; empty when it conforms. */
    public List<String> problems(JsonNode schema, JsonNode value) {
        return cache
                .get(schema.toString(), k -> FACTORY.getSchema(schema, CONFIG))
                .validate(value)
                .stream()
                .map(ValidationMessage::getMessage)
                .sorted()
                .toList();
    }
}
