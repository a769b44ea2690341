package io.flotilla.testsupport;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;

/**
 * A packaged Flotilla service started as a real process for end-to-end tests ({@code *IT}): its own
 * port, the test database, plain-text logs under {@code target/it-logs/<name>.log}.
 */
public final class ServiceProcess implements AutoCloseable {

    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private final String name;
    private final Process process;
    private final int port;

    private ServiceProcess(String name, Process process, int port) {
        this.name = name;
        this.process = process;
        this.port = port;
    }

    /**
     * Starts the jar named by system property {@code jarProperty} on a free port against {@code
     * database} (none when {@code pg} is null: the operator has no database), with extra
     * environment variables.
     */
    public static ServiceProcess start(
            String name,
            String jarProperty,
            TestPostgres pg,
            String database,
            Map<String, String> env)
            throws IOException {
        String jar = System.getProperty(jarProperty);
        if (jar == null || !new File(jar).isFile()) {
            throw new IllegalStateException(
                    "no packaged service at "
                            + jar
                            + " (system property "
                            + jarProperty
                            + "): build it first, e.g. mvn -B package -DskipTests");
        }
        int port = freePort();
        Path logs = Path.of("target", "it-logs");
        Files.createDirectories(logs);
        ProcessBuilder pb =
                new ProcessBuilder(
                                System.getProperty("java.home")
                                        + File.separator
                                        + "bin"
                                        + File.separator
                                        + "java",
                                "-Xmx256m",
                                "-jar",
                                jar)
                        .redirectErrorStream(true)
                        .redirectOutput(logs.resolve(name + ".log").toFile());
        Map<String, String> e = pb.environment();
        e.put("QUARKUS_HTTP_PORT", String.valueOf(port));
        if (pg != null) {
            e.put("QUARKUS_DATASOURCE_JDBC_URL", pg.jdbcUrl(database));
            e.put("QUARKUS_DATASOURCE_REACTIVE_URL", pg.reactiveUrl(database));
            e.put("QUARKUS_DATASOURCE_USERNAME", pg.user());
            e.put("QUARKUS_DATASOURCE_PASSWORD", pg.password());
        }
        e.put("QUARKUS_LOG_CONSOLE_JSON_ENABLED", "false");
        e.putAll(env);
        return new ServiceProcess(name, pb.start(), port);
    }

    public int port() {
        return port;
    }

    public String url() {
        return "http://127.0.0.1:" + port;
    }

    public long pid() {
        return process.pid();
    }

    public boolean alive() {
        return process.isAlive();
    }

    /** Waits until {@code /q/health/ready} answers 200. */
    public ServiceProcess awaitReady() {
        Awaitility.await(name + " ready")
                .atMost(Duration.ofSeconds(90))
                .pollInterval(Duration.ofMillis(250))
                .ignoreExceptions()
                .until(
                        () -> {
                            if (!process.isAlive()) {
                                throw new IllegalStateException(
                                        name
                                                + " exited with "
                                                + process.exitValue()
                                                + "; see target/it-logs/"
                                                + name
                                                + ".log");
                            }
                            return HTTP.send(
                                                    HttpRequest.newBuilder(
                                                                    URI.create(
                                                                            url()
                                                                                    + "/q/health/ready"))
                                                            .build(),
                                                    HttpResponse.BodyHandlers.discarding())
                                            .statusCode()
                                    == 200;
                        });
        return this;
    }

    /** kill -9: no shutdown hooks, no goodbye. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** SIGTERM, and waits for the graceful shutdown. */
    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
