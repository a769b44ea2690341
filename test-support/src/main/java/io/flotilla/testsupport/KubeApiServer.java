package io.flotilla.testsupport;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.awaitility.Awaitility;

/**
 * A real Kubernetes API server (1.20.2) with its etcd, as processes on loopback, for the end-to-end
 * tests of the operator and the Helm chart: schemas, RBAC, server-side apply and TokenReview behave
 * as in a cluster (there is no kubelet, scheduler or controller manager: Pods stay Pending,
 * namespaces stay Terminating). The binaries come from {@code scripts/kube-apiserver.sh}, which
 * builds them once per machine. One server per test JVM, shared; tests keep apart by namespace.
 */
public final class KubeApiServer {

    /** Groups of the users in the token file: an admin, and an ordinary user RBAC governs. */
    public static final String ADMIN_USER = "flotilla-admin";

    public static final String PLAIN_USER = "flotilla-plain";

    private static KubeApiServer shared;

    private final String url;
    private final String adminToken;
    private final String plainToken;
    private final Path dir;
    private final Path bin;
    private final List<Process> processes = new ArrayList<>();

    private KubeApiServer(Path bin, Path dir) throws IOException {
        this.bin = bin;
        this.dir = dir;
        this.adminToken = randomToken();
        this.plainToken = randomToken();
        int etcdPort = ServiceProcess.freePort();
        int peerPort = ServiceProcess.freePort();
        int apiPort = ServiceProcess.freePort();
        this.url = "https://127.0.0.1:" + apiPort;
        Files.writeString(
                dir.resolve("tokens.csv"),
                adminToken
                        + ","
                        + ADMIN_USER
                        + ",1,\"system:masters\"\n"
                        + plainToken
                        + ","
                        + PLAIN_USER
                        + ",2\n");
        KeyPair sa = rsaKeyPair();
        Files.writeString(dir.resolve("sa.key"), pem("PRIVATE KEY", sa.getPrivate().getEncoded()));
        Files.writeString(dir.resolve("sa.pub"), pem("PUBLIC KEY", sa.getPublic().getEncoded()));
        String etcd = "http://127.0.0.1:" + etcdPort;
        String peer = "http://127.0.0.1:" + peerPort;
        start(
                "etcd",
                List.of(
                        bin.resolve("etcd").toString(),
                        "--data-dir=" + dir.resolve("etcd-data"),
                        "--listen-client-urls=" + etcd,
                        "--advertise-client-urls=" + etcd,
                        "--listen-peer-urls=" + peer,
                        "--initial-advertise-peer-urls=" + peer,
                        "--initial-cluster=default=" + peer));
        start(
                "kube-apiserver",
                List.of(
                        bin.resolve("kube-apiserver").toString(),
                        "--etcd-servers=" + etcd,
                        "--bind-address=127.0.0.1",
                        "--advertise-address=127.0.0.1",
                        "--secure-port=" + apiPort,
                        "--cert-dir=" + dir.resolve("certs"),
                        "--authorization-mode=Node,RBAC",
                        "--token-auth-file=" + dir.resolve("tokens.csv"),
                        "--service-account-issuer=https://kubernetes.default.svc",
                        "--api-audiences=https://kubernetes.default.svc",
                        "--service-account-key-file=" + dir.resolve("sa.pub"),
                        "--service-account-signing-key-file=" + dir.resolve("sa.key"),
                        "--service-cluster-ip-range=10.0.0.0/24",
                        "--disable-admission-plugins=ServiceAccount",
                        "--allow-privileged=true"));
        Awaitility.await("kube-apiserver ready (see " + dir + "/kube-apiserver.log)")
                .atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(250))
                .ignoreExceptions()
                .until(() -> get("/readyz", adminToken).statusCode() == 200);
    }

    /**
     * The server of this test JVM, started at the first call (building the binaries first if this
     * machine has none: about five minutes, once).
     */
    public static synchronized KubeApiServer shared() throws IOException {
        if (shared == null) {
            Path bin = binaries();
            Path target = Files.createDirectories(Path.of("target").toAbsolutePath());
            Path dir = Files.createTempDirectory(target, "kube-");
            shared = new KubeApiServer(bin, dir);
            Runtime.getRuntime().addShutdownHook(new Thread(shared::stop));
        }
        return shared;
    }

    /**
     * Starts a server for a script (scripts/images.sh) or a person: prints {@code url}, {@code
     * token} (admin) and {@code kubeconfig} lines, then runs until the process is stopped.
     */
    public static void main(String[] args) throws Exception {
        KubeApiServer server = shared();
        System.out.println("url " + server.url());
        System.out.println("token " + server.adminToken());
        System.out.println(
                "kubeconfig " + server.kubeconfig("admin", server.adminToken(), "default"));
        System.out.flush();
        Thread.currentThread().join();
    }

    /** {@code https://127.0.0.1:<port>}; its certificate is self-signed (trust it insecurely). */
    public String url() {
        return url;
    }

    /** The API server's serving certificate and its CA (PEM), to trust it for real. */
    public Path certificate() {
        return dir.resolve("certs").resolve("apiserver.crt");
    }

    /** A token of a user in {@code system:masters}. */
    public String adminToken() {
        return adminToken;
    }

    /** A token of a user with no permissions but those RBAC gives it. */
    public String plainToken() {
        return plainToken;
    }

    /** Where kubectl and the server live. */
    public Path bin() {
        return bin;
    }

    /** A kubeconfig file for {@code token} (the default namespace {@code namespace}). */
    public Path kubeconfig(String name, String token, String namespace) throws IOException {
        Path file = dir.resolve("kubeconfig-" + name);
        Files.writeString(
                file,
                """
                apiVersion: v1
                kind: Config
                clusters:
                - name: test
                  cluster: {server: "%s", insecure-skip-tls-verify: true}
                users:
                - name: %s
                  user: {token: "%s"}
                contexts:
                - name: test
                  context: {cluster: test, user: %s, namespace: %s}
                current-context: test
                """
                        .formatted(url, name, token, name, namespace));
        return file;
    }

    /**
     * Runs kubectl (1.20, as the server) as the admin; answers its standard output, fails with its
     * error output.
     */
    public String kubectl(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(bin.resolve("kubectl").toString());
        command.add("--kubeconfig=" + kubeconfig("admin", adminToken, "default"));
        command.addAll(List.of(args));
        return run(command, null);
    }

    /** Runs a command to its end; answers its standard output, fails with its error output. */
    public static String run(List<String> command, Path stdin)
            throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command);
        if (stdin != null) {
            pb.redirectInput(stdin.toFile());
        }
        File err = File.createTempFile("cmd", ".err");
        pb.redirectError(err);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException(String.join(" ", command) + " did not finish");
        }
        String error = Files.readString(err.toPath());
        Files.delete(err.toPath());
        if (p.exitValue() != 0) {
            throw new CommandFailed(String.join(" ", command), p.exitValue(), out + error);
        }
        return out;
    }

    /** A command that exited with another status than 0, with what it printed. */
    public static final class CommandFailed extends IllegalStateException {
        public final String output;

        CommandFailed(String command, int status, String output) {
            super(command + " exited with " + status + ": " + output);
            this.output = output;
        }
    }

    /** Creates the namespace and its ServiceAccount unless they exist. */
    public void serviceAccount(String namespace, String serviceAccount)
            throws IOException, InterruptedException {
        created(
                send(
                        "POST",
                        "/api/v1/namespaces",
                        "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\""
                                + namespace
                                + "\"}}",
                        adminToken));
        created(
                send(
                        "POST",
                        "/api/v1/namespaces/" + namespace + "/serviceaccounts",
                        "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\""
                                + serviceAccount
                                + "\"}}",
                        adminToken));
    }

    private static void created(HttpResponse<String> r) {
        if (r.statusCode() != 201 && r.statusCode() != 409) {
            throw new IllegalStateException(
                    "the API server answered " + r.statusCode() + ": " + r.body());
        }
    }

    /**
     * A ServiceAccount token (a TokenRequest, an hour) for {@code namespace/serviceAccount}, which
     * must exist.
     */
    public String serviceAccountToken(String namespace, String serviceAccount)
            throws IOException, InterruptedException {
        return tokenRequest(namespace, serviceAccount, "");
    }

    /** A TokenRequest (an hour) with {@code spec} fields after the expiry, e.g. a bound object. */
    private String tokenRequest(String namespace, String serviceAccount, String spec)
            throws IOException, InterruptedException {
        HttpResponse<String> r =
                send(
                        "POST",
                        "/api/v1/namespaces/"
                                + namespace
                                + "/serviceaccounts/"
                                + serviceAccount
                                + "/token",
                        "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenRequest\","
                                + "\"spec\":{\"expirationSeconds\":3600"
                                + spec
                                + "}}",
                        adminToken);
        if (r.statusCode() != 201) {
            throw new IllegalStateException(
                    "TokenRequest answered " + r.statusCode() + ": " + r.body());
        }
        return field(r.body(), "token");
    }

    /**
     * A token of {@code namespace/serviceAccount} bound to a pod, as a pod's projected token is:
     * creates the pod object (no kubelet runs it) and a TokenRequest bound to it.
     */
    public String podToken(String namespace, String serviceAccount, String pod)
            throws IOException, InterruptedException {
        serviceAccount(namespace, serviceAccount);
        HttpResponse<String> created =
                send(
                        "POST",
                        "/api/v1/namespaces/" + namespace + "/pods",
                        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\""
                                + pod
                                + "\"},\"spec\":{\"serviceAccountName\":\""
                                + serviceAccount
                                + "\",\"containers\":[{\"name\":\"c\",\"image\":\"none\"}]}}",
                        adminToken);
        created(created);
        String uid =
                field(
                        get("/api/v1/namespaces/" + namespace + "/pods/" + pod, adminToken).body(),
                        "uid");
        return tokenRequest(
                namespace,
                serviceAccount,
                ",\"boundObjectRef\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"name\":\""
                        + pod
                        + "\",\"uid\":\""
                        + uid
                        + "\"}");
    }

    /** The first string value of a field in a JSON text. */
    private static String field(String json, String name) {
        int at = json.indexOf("\"" + name + "\":\"") + name.length() + 4;
        return json.substring(at, json.indexOf('"', at));
    }

    /** GETs a path of the API with a token. */
    public HttpResponse<String> get(String path, String token)
            throws IOException, InterruptedException {
        return send("GET", path, null, token);
    }

    private HttpResponse<String> send(String method, String path, String body, String token)
            throws IOException, InterruptedException {
        HttpRequest.Builder b =
                HttpRequest.newBuilder(URI.create(url + path))
                        .header("Authorization", "Bearer " + token)
                        .timeout(Duration.ofSeconds(10));
        if (body != null) {
            b.header("Content-Type", "application/json")
                    .method(method, HttpRequest.BodyPublishers.ofString(body));
        } else {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        }
        return INSECURE.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private void start(String name, List<String> command) throws IOException {
        processes.add(
                new ProcessBuilder(command)
                        .redirectErrorStream(true)
                        .redirectOutput(dir.resolve(name + ".log").toFile())
                        .start());
    }

    private void stop() {
        for (int i = processes.size() - 1; i >= 0; i--) {
            Process p = processes.get(i);
            p.destroy();
            try {
                if (!p.waitFor(10, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Builds the binaries once per machine (cached) and answers their directory. */
    private static Path binaries() throws IOException {
        Path root = Path.of("").toAbsolutePath();
        while (root != null && !Files.isRegularFile(root.resolve("scripts/kube-apiserver.sh"))) {
            root = root.getParent();
        }
        if (root == null) {
            throw new IllegalStateException(
                    "scripts/kube-apiserver.sh not found above " + Path.of("").toAbsolutePath());
        }
        try {
            String dir =
                    run(List.of("bash", root.resolve("scripts/kube-apiserver.sh").toString()), null)
                            .strip();
            return Path.of(dir, "k8s", "1.20.2-linux-amd64");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    private static KeyPair rsaKeyPair() {
        try {
            KeyPairGenerator gen = KeyPairGenerator.getInstance("RSA");
            gen.initialize(2048);
            return gen.generateKeyPair();
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN "
                + type
                + "-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                        .encodeToString(der)
                + "\n-----END "
                + type
                + "-----\n";
    }

    private static String randomToken() {
        byte[] b = new byte[24];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /** The test server's certificate is self-signed; only ever used against loopback. */
    private static final HttpClient INSECURE = insecureClient();

    private static HttpClient insecureClient() {
        try {
            SSLContext ssl = SSLContext.getInstance("TLS");
            ssl.init(
                    null,
                    new TrustManager[] {
                        new X509TrustManager() {
                            @Override
                            public void checkClientTrusted(X509Certificate[] c, String a) {}

                            @Override
                            public void checkServerTrusted(X509Certificate[] c, String a) {}

                            @Override
                            public X509Certificate[] getAcceptedIssuers() {
                                return new X509Certificate[0];
                            }
                        }
                    },
                    new SecureRandom());
            return HttpClient.newBuilder()
                    .sslContext(ssl)
                    .connectTimeout(Duration.ofSeconds(5))
                    .build();
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
