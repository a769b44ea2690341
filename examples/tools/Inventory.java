import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Map;

/**
 * A small local HTTP service for examples/support-desk.yaml's inventory tool: GET
 * /inventory/{sku} answers how many are in stock, to callers that send the bearer token in
 * INVENTORY_TOKEN (the executor sends it from its FLOTILLA_TOOL_INVENTORY_TOKEN). Run with the JDK
 * alone: java examples/tools/Inventory.java [port]
 */
public class Inventory {

    private static final Map<String, String> STOCK =
            Map.of(
                    "kelp-kit", "{\"sku\":\"kelp-kit\",\"inStock\":4,\"nextDelivery\":\"in 3 days\"}",
                    "tide-table", "{\"sku\":\"tide-table\",\"inStock\":0,\"nextDelivery\":\"in 2 weeks\"}");

    public static void main(String[] args) throws IOException {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 8090;
        byte[] token = ("Bearer " + System.getenv("INVENTORY_TOKEN")).getBytes(StandardCharsets.UTF_8);
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
        server.createContext(
                "/inventory/",
                exchange -> {
                    String auth = exchange.getRequestHeaders().getFirst("Authorization");
                    String sku = exchange.getRequestURI().getPath().substring("/inventory/".length());
                    String body;
                    int status;
                    if (auth == null
                            || !MessageDigest.isEqual(token, auth.getBytes(StandardCharsets.UTF_8))) {
                        status = 401;
                        body = "{\"error\":\"send the inventory token\"}";
                    } else if (!STOCK.containsKey(sku)) {
                        status = 404;
                        body = "{\"error\":\"no product " + sku.replaceAll("[^a-z-]", "") + "\"}";
                    } else {
                        status = 200;
                        body = STOCK.get(sku);
                    }
                    System.out.printf(
                            "%s %s -> %d (Idempotency-Key %s)%n",
                            exchange.getRequestMethod(),
                            exchange.getRequestURI().getPath(),
                            status,
                            exchange.getRequestHeaders().getFirst("Idempotency-Key"));
                    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
                    exchange.getResponseHeaders().set("Content-Type", "application/json");
                    exchange.sendResponseHeaders(status, bytes.length);
                    exchange.getResponseBody().write(bytes);
                    exchange.close();
                });
        server.start();
        System.out.println("READY inventory on 127.0.0.1:" + port);
    }
}
