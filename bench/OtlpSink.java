import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A local OTLP/HTTP trace receiver for the gateway benchmark: accepts every export on one Vert.x
 * event loop, answers an empty ExportTraceServiceResponse, and counts the exports, bytes and spans
 * it received (spans by walking the protobuf down to ResourceSpans.scope_spans.spans, nothing
 * decoded beyond that). {@code GET /} answers the counts. It stands in for a collector, which in
 * production runs elsewhere; it does as little work as a receiver can. Usage: java -cp <vertx
 * classpath> bench/OtlpSink.java <port>
 */
public class OtlpSink {
    public static void main(String[] args) {
        int port = Integer.parseInt(args[0]);
        AtomicLong exports = new AtomicLong();
        AtomicLong bytes = new AtomicLong();
        AtomicLong spans = new AtomicLong();
        Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
        vertx.createHttpServer()
                .requestHandler(
                        r -> {
                            if (r.method().name().equals("GET")) {
                                r.response()
                                        .end(
                                                "exports %d spans %d bytes %d"
                                                        .formatted(
                                                                exports.get(),
                                                                spans.get(),
                                                                bytes.get()));
                                return;
                            }
                            r.body()
                                    .onSuccess(
                                            b -> {
                                                exports.incrementAndGet();
                                                bytes.addAndGet(b.length());
                                                spans.addAndGet(count(b, 0, b.length(), 0));
                                                r.response()
                                                        .putHeader(
                                                                "Content-Type",
                                                                "application/x-protobuf")
                                                        .end();
                                            });
                        })
                .listen(port, "127.0.0.1")
                .onSuccess(s -> System.out.println("READY " + port));
    }

    /**
     * Spans in a message: at depth 0 an ExportTraceServiceRequest (field 1: ResourceSpans), at 1 a
     * ResourceSpans (field 2: ScopeSpans), at 2 a ScopeSpans (field 2: Span, counted).
     */
    static long count(Buffer b, int from, int to, int depth) {
        long n = 0;
        int[] at = {from};
        while (at[0] < to) {
            long tag = varint(b, at);
            int field = (int) (tag >>> 3);
            switch ((int) (tag & 7)) {
                case 0 -> varint(b, at);
                case 1 -> at[0] += 8;
                case 5 -> at[0] += 4;
                case 2 -> {
                    int len = (int) varint(b, at);
                    int wanted = depth == 0 ? 1 : 2;
                    if (field == wanted) {
                        n += depth == 2 ? 1 : count(b, at[0], at[0] + len, depth + 1);
                    }
                    at[0] += len;
                }
                default -> throw new IllegalArgumentException("unexpected wire type in " + tag);
            }
        }
        return n;
    }

    static long varint(Buffer b, int[] at) {
        long value = 0;
        for (int shift = 0; ; shift += 7) {
            byte x = b.getByte(at[0]++);
            value |= (long) (x & 0x7f) << shift;
            if (x >= 0) {
                return value;
            }
        }
    }
}
