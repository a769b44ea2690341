import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Heartbeat load against a running registry: registers N agents, then drives heartbeats from C
 * concurrent loops for D seconds after a warm-up, and prints heartbeats/s and p50/p99 latency.
 * Usage: java bench/RegistryBench.java http://127.0.0.1:8082 [agents=1000] [concurrency=32] [seconds=20]
 */
public class RegistryBench {

    private static final java.util.concurrent.ExecutorService LOOPS = Executors.newCachedThreadPool();
    private static final Pattern ID = Pattern.compile("\"id\":\"([^\"]+)\"");
    private static final Pattern TOKEN = Pattern.compile("\"token\":\"([^\"]+)\"");

    public static void main(String[] args) throws Exception {
        URI base = URI.create(args[0]);
        int agents = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
        int concurrency = args.length > 2 ? Integer.parseInt(args[2]) : 32;
        int seconds = args.length > 3 ? Integer.parseInt(args[3]) : 20;
        HttpClient http = HttpClient.newBuilder().executor(Executors.newFixedThreadPool(4))
                .connectTimeout(Duration.ofSeconds(5)).build();

        String[] ids = new String[agents];
        String[] tokens = new String[agents];
        long regStart = System.nanoTime();
        for (int i = 0; i < agents; i++) {
            String body = "{\"name\":\"bench\",\"kind\":\"agent\",\"namespace\":\"bench\",\"podName\":\"pod-" + i
                    + "\",\"ttlSeconds\":600}";
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(base.resolve("/api/v1/agents"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 201) {
                throw new IllegalStateException("register failed: " + r.statusCode() + " " + r.body());
            }
            ids[i] = match(ID, r.body());
            tokens[i] = match(TOKEN, r.body());
        }
        System.out.printf("registered %d agents in %.1f s%n", agents, (System.nanoTime() - regStart) / 1e9);

        run(http, base, ids, tokens, concurrency, 5, null);          // warm-up: JIT, pools, connections
        List<Long> latencies = new ArrayList<>();
        AtomicInteger errors = new AtomicInteger();
        long start = System.nanoTime();
        long done = run(http, base, ids, tokens, concurrency, seconds, latencies, errors);
        double elapsed = (System.nanoTime() - start) / 1e9;
        long[] sorted = latencies.stream().mapToLong(Long::longValue).sorted().toArray();
        System.out.printf("heartbeats: %d in %.1f s = %.0f/s, concurrency %d, errors %d%n", done, elapsed, done / elapsed,
                concurrency, errors.get());
        LOOPS.shutdown();
        System.out.printf("latency ms: p50 %.2f  p99 %.2f  max %.2f%n", pct(sorted, 0.50), pct(sorted, 0.99),
                sorted[sorted.length - 1] / 1e6);
    }

    private static long run(HttpClient http, URI base, String[] ids, String[] tokens, int concurrency, int seconds,
            List<Long> latencies) throws Exception {
        return run(http, base, ids, tokens, concurrency, seconds, latencies, new AtomicInteger());
    }

    private static long run(HttpClient http, URI base, String[] ids, String[] tokens, int concurrency, int seconds,
            List<Long> latencies, AtomicInteger errors) throws Exception {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        AtomicLong count = new AtomicLong();
        AtomicInteger next = new AtomicInteger();
        List<CompletableFuture<Void>> loops = new ArrayList<>();
        List<List<Long>> perLoop = new ArrayList<>();
        for (int c = 0; c < concurrency; c++) {
            List<Long> mine = new ArrayList<>();
            perLoop.add(mine);
            loops.add(CompletableFuture.runAsync(() -> {
                while (System.nanoTime() < deadline) {
                    int i = Math.floorMod(next.getAndIncrement(), ids.length);
                    long t0 = System.nanoTime();
                    try {
                        HttpResponse<Void> r = http.send(HttpRequest.newBuilder(base.resolve("/api/v1/agents/" + ids[i] + "/heartbeat"))
                                .header("Authorization", "Bearer " + tokens[i]).PUT(HttpRequest.BodyPublishers.noBody()).build(),
                                HttpResponse.BodyHandlers.discarding());
                        if (r.statusCode() != 200) {
                            errors.incrementAndGet();
                        }
                    } catch (Exception e) {
                        errors.incrementAndGet();
                    }
                    mine.add(System.nanoTime() - t0);
                    count.incrementAndGet();
                }
            }, LOOPS));
        }
        CompletableFuture.allOf(loops.toArray(new CompletableFuture[0])).join();
        if (latencies != null) {
            perLoop.forEach(latencies::addAll);
        }
        return count.get();
    }

    private static double pct(long[] sorted, double p) {
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)] / 1e6;
    }

    private static String match(Pattern p, String body) {
        Matcher m = p.matcher(body);
        if (!m.find()) {
            throw new IllegalStateException("unexpected answer: " + body);
        }
        return m.group(1);
    }
}
