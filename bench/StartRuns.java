import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Starts N runs of a workflow through the executor's API, C at a time; prints how long it took.
 * Usage: url workflow n c
 */
public class StartRuns {
    public static void main(String[] args) throws Exception {
        String url = args[0] + "/api/v1/runs";
        String workflow = args[1];
        int n = Integer.parseInt(args[2]);
        Semaphore inFlight = new Semaphore(Integer.parseInt(args[3]));
        HttpClient http = HttpClient.newHttpClient();
        AtomicInteger failed = new AtomicInteger();
        long start = System.nanoTime();
        for (int i = 0; i < n; i++) {
            inFlight.acquire();
            http.sendAsync(
                            HttpRequest.newBuilder(URI.create(url))
                                    .header("Content-Type", "application/json")
                                    .POST(
                                            HttpRequest.BodyPublishers.ofString(
                                                    "{\"workflow\":\""
                                                            + workflow
                                                            + "\",\"input\":{\"n\":"
                                                            + i
                                                            + "}}"))
                                    .build(),
                            HttpResponse.BodyHandlers.discarding())
                    .whenComplete(
                            (r, e) -> {
                                if (e != null || r.statusCode() != 202) {
                                    failed.incrementAndGet();
                                }
                                inFlight.release();
                            });
        }
        inFlight.acquire(Integer.parseInt(args[3]));
        System.out.printf(
                "started %d runs in %.2f s (%d failed)%n",
                n, (System.nanoTime() - start) / 1e9, failed.get());
    }
}
