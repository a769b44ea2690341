package io.flotilla.gateway.fake;

import io.vertx.core.Vertx;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A TCP proxy between the gateway's reactive pool and PostgreSQL, so a test can make the database
 * unreachable ({@link #down()}) and reachable again ({@link #up()}) without touching the server.
 */
public final class TcpProxy {

    private static volatile TcpProxy current;

    private final Vertx vertx = Vertx.vertx();
    private final String targetHost;
    private final int targetPort;
    private final Set<NetSocket> sockets = ConcurrentHashMap.newKeySet();
    private volatile NetServer server;
    private int port;

    TcpProxy(String targetHost, int targetPort) {
        this.targetHost = targetHost;
        this.targetPort = targetPort;
        current = this;
    }

    /** The proxy of the running test application. */
    public static TcpProxy current() {
        return current;
    }

    int start() throws Exception {
        listen(0);
        return port;
    }

    private void listen(int onPort) throws Exception {
        server =
                vertx.createNetServer()
                        .connectHandler(
                                client -> {
                                    client.pause();
                                    sockets.add(client);
                                    vertx.createNetClient()
                                            .connect(targetPort, targetHost)
                                            .onSuccess(
                                                    db -> {
                                                        sockets.add(db);
                                                        client.handler(db::write);
                                                        db.handler(client::write);
                                                        client.closeHandler(v -> db.close());
                                                        db.closeHandler(v -> client.close());
                                                        client.resume();
                                                    })
                                            .onFailure(e -> client.close());
                                })
                        .listen(onPort, "127.0.0.1")
                        .toCompletionStage()
                        .toCompletableFuture()
                        .get(10, TimeUnit.SECONDS);
        port = server.actualPort();
    }

    /** Refuses new connections and cuts the open ones, as a database outage would. */
    public void down() throws Exception {
        server.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        sockets.forEach(NetSocket::close);
        sockets.clear();
    }

    /** Accepts connections again on the same port. */
    public void up() throws Exception {
        listen(port);
    }

    void stop() {
        vertx.close();
    }
}
