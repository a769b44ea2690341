package io.flotilla.testsupport;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import java.util.Properties;
import java.util.UUID;

/**
 * The PostgreSQL server that tests of this JVM use, chosen once.
 *
 * <p>Order: {@code FLOTILLA_TEST_PG_URL} (a JDBC URL of any database on the server, user and
 * password from {@code FLOTILLA_TEST_PG_USER} / {@code FLOTILLA_TEST_PG_PASSWORD}); else the local
 * server on 127.0.0.1:5432 when it answers; else an embedded PostgreSQL started for this JVM.
 * {@code FLOTILLA_TEST_PG=embedded} forces the embedded server. Each caller gets a database of its
 * own ({@link #createDatabase()}), so test runs never see each other's rows.
 */
public final class TestPostgres {

    private static final org.postgresql.Driver DRIVER = new org.postgresql.Driver();

    private static final String DEFAULT_URL = "jdbc:postgresql://127.0.0.1:5432/test";
    private static TestPostgres instance;

    private final String host;
    private final int port;
    private final String user;
    private final String password;
    private final String adminUrl;
    private final String origin;

    private TestPostgres(
            String host, int port, String user, String password, String adminUrl, String origin) {
        this.host = host;
        this.port = port;
        this.user = user;
        this.password = password;
        this.adminUrl = adminUrl;
        this.origin = origin;
    }

    /** The server for this JVM, found or started on first use. */
    public static synchronized TestPostgres server() {
        if (instance == null) {
            instance = locate();
            System.out.println("[flotilla-tests] PostgreSQL: " + instance.origin);
        }
        return instance;
    }

    private static TestPostgres locate() {
        String mode = env("FLOTILLA_TEST_PG", "auto").toLowerCase(Locale.ROOT);
        String user = env("FLOTILLA_TEST_PG_USER", "postgres");
        String password = env("FLOTILLA_TEST_PG_PASSWORD", "");
        String configured = System.getenv("FLOTILLA_TEST_PG_URL");
        if (!mode.equals("embedded")) {
            String url = configured != null && !configured.isBlank() ? configured : DEFAULT_URL;
            String silence = silence(url, user, password);
            if (silence == null) {
                HostPort hp = HostPort.of(url);
                return new TestPostgres(
                        hp.host(),
                        hp.port(),
                        user,
                        password,
                        url,
                        "server at " + hp.host() + ":" + hp.port());
            }
            if (configured != null && !configured.isBlank()) {
                throw new IllegalStateException(
                        "FLOTILLA_TEST_PG_URL="
                                + configured
                                + " does not answer ("
                                + silence
                                + "); start that server or unset the variable to use the local or embedded one");
            }
            System.out.println("[flotilla-tests] " + url + " does not answer (" + silence + ")");
        }
        return startEmbedded();
    }

    private static TestPostgres startEmbedded() {
        try {
            EmbeddedPostgres pg = EmbeddedPostgres.builder().start();
            Runtime.getRuntime()
                    .addShutdownHook(
                            new Thread(
                                    () -> {
                                        try {
                                            pg.close();
                                        } catch (IOException ignored) {
                                            // the JVM is going away; the data directory is
                                            // temporary
                                        }
                                    }));
            int port = pg.getPort();
            String url = "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
            return new TestPostgres(
                    "127.0.0.1", port, "postgres", "", url, "embedded on port " + port);
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "no PostgreSQL answered and the embedded one failed to start", e);
        }
    }

    /** Null when the server answers, else why not. */
    private static String silence(String url, String user, String password) {
        Properties props = props(user, password);
        props.setProperty("loginTimeout", "3");
        try (Connection ignored = connect(url, props)) {
            return null;
        } catch (SQLException e) {
            return e.getMessage();
        }
    }

    /**
     * A connection from the PostgreSQL driver itself: {@code DriverManager} only hands out drivers
     * its caller's class loader sees, and a test JVM goes through several (one per Quarkus app).
     */
    private static Connection connect(String url, Properties props) throws SQLException {
        return DRIVER.connect(url, props);
    }

    private static Properties props(String user, String password) {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", password);
        p.setProperty("connectTimeout", "3");
        return p;
    }

    private static String env(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? fallback : v;
    }

    /** Creates an empty database with a unique name and returns its name. */
    public String createDatabase() {
        String name =
                "flotilla_t_" + UUID.randomUUID().toString().replace("-", "").substring(0, 16);
        execute("CREATE DATABASE " + name);
        return name;
    }

    /** Creates the named database unless it exists (for the local run, which keeps its data). */
    public void ensureDatabase(String name) {
        try (Connection c = connect(adminUrl, props(user, password));
                java.sql.PreparedStatement s =
                        c.prepareStatement("SELECT 1 FROM pg_database WHERE datname = ?")) {
            s.setString(1, name);
            try (java.sql.ResultSet rs = s.executeQuery()) {
                if (rs.next()) {
                    return;
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException(
                    "could not look up database " + name + " on " + origin + ": " + e.getMessage(),
                    e);
        }
        execute("CREATE DATABASE \"" + name.replace("\"", "") + "\"");
    }

    /** Drops a database made by {@link #createDatabase()}, disconnecting whatever still uses it. */
    public void dropDatabase(String name) {
        execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
    }

    private void execute(String sql) {
        try (Connection c = connect(adminUrl, props(user, password));
                Statement s = c.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(
                    "could not run '" + sql + "' on " + origin + ": " + e.getMessage(), e);
        }
    }

    public String jdbcUrl(String database) {
        return "jdbc:postgresql://" + host + ":" + port + "/" + database;
    }

    public String reactiveUrl(String database) {
        return "postgresql://" + host + ":" + port + "/" + database;
    }

    public String host() {
        return host;
    }

    public int port() {
        return port;
    }

    public String user() {
        return user;
    }

    public String password() {
        return password;
    }

    /** Where the server came from, for logs: "server at host:port" or "embedded on port N". */
    public String origin() {
        return origin;
    }

    private record HostPort(String host, int port) {
        static HostPort of(String jdbcUrl) {
            // jdbc:postgresql://host[:port]/db[?params]
            String rest = jdbcUrl.substring(jdbcUrl.indexOf("//") + 2);
            String authority = rest.contains("/") ? rest.substring(0, rest.indexOf('/')) : rest;
            int colon = authority.lastIndexOf(':');
            return colon < 0
                    ? new HostPort(authority, 5432)
                    : new HostPort(
                            authority.substring(0, colon),
                            Integer.parseInt(authority.substring(colon + 1)));
        }
    }
}
