import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A local OTLP/HTTP trace receiver for the gateway benchmark: accepts every export on one Vert.x
 * event loop, answers an empty ExportTraceServiceResponse, and counts the requests and bytes it
 * received (printed on each line of stdout every 10 s). It stands in for a collector, which in
 * production runs elsewhere; it does as little work as a receiver can. Usage: java -cp <vertx
 * classpath> bench/OtlpSink.java <port>
 */
public class OtlpSink {
    public static void main(String[] args) {
        int port = Integer.parseInt(args[0]);
        AtomicLong exports = new AtomicLong();
        AtomicLong bytes = new AtomicLong();
        Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
        vertx.createHttpServer()
                .requestHandler(
                        r ->
                                r.body()
                                        .onSuccess(
                                                b -> {
                                                    exports.incrementAndGet();
                                                    bytes.addAndGet(b.length());
                                                    r.response()
                                                            .putHeader(
                                                                    "Content-Type",
                                                                    "application/x-protobuf")
                                                            .end();
                                                }))
                .listen(port, "127.0.0.1")
                .onSuccess(s -> System.out.println("READY " + port));
        vertx.setPeriodic(
                10_000,
                id -> System.out.println("exports " + exports.get() + " bytes " + bytes.get()));
    }
}
