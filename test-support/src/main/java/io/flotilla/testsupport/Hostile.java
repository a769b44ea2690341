package io.flotilla.testsupport;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import javax.sql.DataSource;

/**
 * Hostile requests for the adversarial suites: malformed, truncated, wrongly typed, huge and deeply
 * nested bodies, NUL characters and invalid UTF-8, path traversal and SQL metacharacters in names
 * and ids, oversized headers. Each service's suite aims them at its routes, then checks that every
 * one was answered 4xx in the service's error format, that no table changed, and that the service
 * is still healthy.
 */
public final class Hostile {

    private static final HttpClient HTTP =
            HttpClient.newBuilder()
                    .version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(5))
                    .build();

    /** One hostile request. */
    public record Attack(
            String label, String method, String path, String contentType, byte[] body) {

        @Override
        public String toString() {
            return label + " (" + method + " " + abbreviate(path) + ")";
        }
    }

    /** How the service answered. */
    public record Answer(int status, String contentType, String body) {}

    /**
     * Names and ids no service should accept or be hurt by: path traversal, SQL and markup
     * metacharacters, NUL, control characters, an overlong name.
     */
    public static final List<String> NAMES =
            List.of(
                    "../../etc/passwd",
                    "..",
                    "x' OR '1'='1",
                    "x; DROP TABLE x; --",
                    "<script>alert(1)</script>",
                    "a\u0000b",
                    "line\r\nbreak",
                    "%2e%2e%2f",
                    "a".repeat(5_000));

    private Hostile() {}

    /** A name or id as one URL path segment (so it reaches the route, not the router). */
    public static String segment(String name) {
        return URLEncoder.encode(name, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /** Bodies a JSON route must refuse. */
    public static List<Attack> bodies(String method, String path) {
        List<Attack> out = new ArrayList<>();
        json(out, "malformed JSON", method, path, "{\"a\": }");
        json(out, "truncated JSON", method, path, "{\"name\": \"trunc");
        json(out, "an array instead of an object", method, path, "[1, 2, 3]");
        json(out, "a string instead of an object", method, path, "\"hello\"");
        json(out, "a number instead of an object", method, path, "42");
        json(out, "null", method, path, "null");
        json(out, "deeply nested", method, path, "[".repeat(100_000) + "]".repeat(100_000));
        json(
                out,
                "huge (3 MiB)",
                method,
                path,
                "{\"name\": \"" + "x".repeat(3 * 1024 * 1024) + "\"}");
        out.add(
                new Attack(
                        "invalid UTF-8",
                        method,
                        path,
                        "application/json",
                        new byte[] {
                            '{', '"', 'n', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'
                        }));
        out.add(
                new Attack(
                        "a raw NUL byte",
                        method,
                        path,
                        "application/json",
                        new byte[] {'{', '"', 'n', '"', ':', '"', 0, '"', '}'}));
        return out;
    }

    /** A JSON body as an attack. */
    public static Attack json(String label, String method, String path, String body) {
        return new Attack(
                label, method, path, "application/json", body.getBytes(StandardCharsets.UTF_8));
    }

    private static void json(
            List<Attack> out, String label, String method, String path, String body) {
        out.add(json(label, method, path, body));
    }

    /** Sends an attack with a bearer token (null for none) and a header of {@code headerBytes}. */
    public static Answer send(URI base, Attack a, String bearer, int headerBytes)
            throws IOException, InterruptedException {
        HttpRequest.Builder b =
                HttpRequest.newBuilder(base.resolve(a.path()))
                        .timeout(Duration.ofSeconds(30))
                        .method(
                                a.method(),
                                a.body() == null
                                        ? HttpRequest.BodyPublishers.noBody()
                                        : HttpRequest.BodyPublishers.ofByteArray(a.body()));
        if (a.contentType() != null) {
            b.header("Content-Type", a.contentType());
        }
        if (bearer != null) {
            b.header("Authorization", "Bearer " + bearer);
        }
        if (headerBytes > 0) {
            b.header("X-Oversized", "h".repeat(headerBytes));
        }
        try {
            HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
            return new Answer(
                    r.statusCode(), r.headers().firstValue("content-type").orElse(""), r.body());
        } catch (IOException e) {
            // the server closed the connection without an answer
            return new Answer(-1, "", "connection closed: " + e.getMessage());
        }
    }

    /** Sends an attack with a bearer token (null for none). */
    public static Answer send(URI base, Attack a, String bearer)
            throws IOException, InterruptedException {
        return send(base, a, bearer, 0);
    }

    /**
     * Sends each attack; returns those not answered 4xx in the expected format, described with the
     * answer.
     */
    public static List<String> notRefused(
            URI base,
            List<Attack> attacks,
            String bearer,
            java.util.function.Predicate<Answer> inFormat)
            throws IOException, InterruptedException {
        List<String> wrong = new ArrayList<>();
        for (Attack a : attacks) {
            Answer r = send(base, a, bearer);
            if (r.status() < 400 || r.status() >= 500 || !inFormat.test(r)) {
                wrong.add(
                        a
                                + " -> "
                                + r.status()
                                + " "
                                + r.contentType()
                                + " "
                                + abbreviate(r.body()));
            }
        }
        return wrong;
    }

    /** A problem document (RFC 9457), the error format outside the gateway's /v1. */
    public static boolean problem(Answer r) {
        return r.contentType().startsWith("application/problem+json");
    }

    /**
     * Headers of 24 and 64 KiB on {@code attack} (one without a body, so the whole request is sent
     * before the server answers): the HTTP layer must refuse them with 431 (its bare answer: no
     * service code runs). Returns the sizes that were not.
     */
    public static List<String> oversizedHeadersNotRefused(URI base, Attack attack, String bearer)
            throws IOException, InterruptedException {
        List<String> wrong = new ArrayList<>();
        for (int kib : new int[] {24, 64}) {
            Answer r = send(base, attack, bearer, kib * 1024);
            if (r.status() != 431) {
                wrong.add("a " + kib + " KiB header -> " + r.status());
            }
        }
        return wrong;
    }

    /** The service's readiness status (200 when healthy). */
    public static int readiness(URI base) throws IOException, InterruptedException {
        return send(base, new Attack("readiness", "GET", "q/health/ready", null, null), null)
                .status();
    }

    /**
     * The routes that answer something else than 401 without a credential (an empty JSON object as
     * body where one is taken).
     */
    public static List<String> openRoutes(URI base, List<Routes.Route> routes)
            throws IOException, InterruptedException {
        List<String> open = new ArrayList<>();
        for (Routes.Route route : routes) {
            Answer r =
                    send(
                            base,
                            json(
                                    "no credential",
                                    route.method(),
                                    route.concrete().substring(1),
                                    "{}"),
                            null);
            if (r.status() != 401) {
                open.add(route + " -> " + r.status());
            }
        }
        return open;
    }

    /** Row counts of every table of a schema, by table name. */
    public static Map<String, Long> counts(DataSource ds, String schema) throws SQLException {
        Map<String, Long> out = new TreeMap<>();
        try (Connection c = ds.getConnection()) {
            List<String> tables = new ArrayList<>();
            try (var ps =
                    c.prepareStatement(
                            "SELECT table_name FROM information_schema.tables WHERE table_schema = ?"
                                    + " AND table_type = 'BASE TABLE' AND table_name NOT LIKE 'flyway%'")) {
                ps.setString(1, schema);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        tables.add(rs.getString(1));
                    }
                }
            }
            for (String t : tables) {
                try (ResultSet rs =
                        c.createStatement()
                                .executeQuery(
                                        "SELECT count(*) FROM " + schema + ".\"" + t + "\"")) {
                    rs.next();
                    out.put(t, rs.getLong(1));
                }
            }
        }
        return out;
    }

    private static String abbreviate(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }
}
