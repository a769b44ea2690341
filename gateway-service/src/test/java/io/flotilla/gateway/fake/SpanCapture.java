package io.flotilla.gateway.fake;

import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/** Hands the gateway's tracer an in-memory exporter in tests, so spans can be read back. */
public class SpanCapture {

    @Produces
    @Singleton
    InMemorySpanExporter exporter() {
        return InMemorySpanExporter.create();
    }
}
