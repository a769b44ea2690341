import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;

/**
 * The fastest honest OpenAI upstream for the gateway benchmark: answers every POST to
 * /v1/chat/completions with a fixed, real-shaped completion, at once, from Vert.x event loops.
 * Usage: java -cp <vertx classpath> bench/FakeOpenAi.java <port>
 */
public class FakeOpenAi {
    public static void main(String[] args) {
        int port = Integer.parseInt(args[0]);
        String body =
                "{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion\",\"created\":1700000000,\"model\":\"bench-model\","
                        + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"benchmark answer of a few words\"},"
                        + "\"logprobs\":null,\"finish_reason\":\"stop\"}],"
                        + "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":6,\"total_tokens\":18}}";
        Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
        vertx.createHttpServer()
                .requestHandler(
                        r ->
                                r.body()
                                        .onSuccess(
                                                b ->
                                                        r.response()
                                                                .putHeader(
                                                                        "Content-Type",
                                                                        "application/json")
                                                                .end(body)))
                .listen(port, "127.0.0.1")
                .onSuccess(s -> System.out.println("READY " + port));
    }
}
