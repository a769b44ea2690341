package io.flotilla.executor.engine;

import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import java.util.HashMap;
import java.util.Map;

/**
 * A run outlives any one span and any one pod: its span's W3C {@code traceparent} is stored with
 * the run, and every step span, on whichever pod, is its child.
 */
public final class RunTraces {

    private static final TextMapGetter<Map<String, String>> GETTER =
            new TextMapGetter<>() {
                @Override
                public Iterable<String> keys(Map<String, String> carrier) {
                    return carrier.keySet();
                }

                @Override
                public String get(Map<String, String> carrier, String key) {
                    return carrier == null ? null : carrier.get(key);
                }
            };

    private RunTraces() {}

    /** The traceparent of the current span (null when tracing is off). */
    public static String current() {
        Map<String, String> carrier = new HashMap<>();
        W3CTraceContextPropagator.getInstance().inject(Context.current(), carrier, Map::put);
        return carrier.get("traceparent");
    }

    static Context parent(String traceParent) {
        if (traceParent == null) {
            return Context.current();
        }
        return W3CTraceContextPropagator.getInstance()
                .extract(Context.root(), Map.of("traceparent", traceParent), GETTER);
    }
}
