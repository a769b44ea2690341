package io.flotilla.common.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.flotilla.common.problem.ProblemException;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.jboss.logging.Logger;

/**
 * Authenticates bearer tokens with the Kubernetes TokenReview API. A ServiceAccount's caller is
 * bound to its namespace; a user or group named in {@code admins} is an admin. Answers are cached
 * for {@code cache-ttl} under the token's SHA-256, never the token itself.
 */
@ApplicationScoped
public class TokenReviews {

    private static final Logger LOG = Logger.getLogger(TokenReviews.class);
    private static final String SERVICE_ACCOUNT = "system:serviceaccount:";
    private static final String POD_NAME = "authentication.kubernetes.io/pod-name";

    private final KubernetesAuthConfig config;
    private final ObjectMapper json;
    private final Set<String> admins;
    private final Cache<String, Optional<Caller>> answers;
    private final HttpClient http;

    TokenReviews(KubernetesAuthConfig config, ObjectMapper json) {
        this.config = config;
        this.json = json;
        this.admins = Set.copyOf(config.admins().orElse(List.of()));
        this.answers =
                Caffeine.newBuilder()
                        .expireAfterWrite(config.cacheTtl())
                        .maximumSize(10_000)
                        .build();
        this.http =
                config.enabled()
                        ? HttpClient.newBuilder()
                                .connectTimeout(Duration.ofSeconds(5))
                                .sslContext(trusting(config.caFile()))
                                .build()
                        : null;
    }

    public boolean enabled() {
        return config.enabled();
    }

    /**
     * The caller a token stands for, or empty when the API server does not authenticate it. Fails
     * with 503 when the API server cannot be asked.
     */
    public CompletionStage<Optional<Caller>> review(String token) {
        String key = sha256(token);
        Optional<Caller> known = answers.getIfPresent(key);
        if (known != null) {
            return CompletableFuture.completedFuture(known);
        }
        HttpRequest request;
        try {
            var body = json.createObjectNode();
            body.put("apiVersion", "authentication.k8s.io/v1").put("kind", "TokenReview");
            body.putObject("spec").put("token", token);
            request =
                    HttpRequest.newBuilder(
                                    URI.create(
                                            config.url().replaceAll("/+$", "")
                                                    + "/apis/authentication.k8s.io/v1/tokenreviews"))
                            .timeout(Duration.ofSeconds(5))
                            .header(
                                    "Authorization",
                                    "Bearer " + Files.readString(config.tokenFile()).trim())
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
                            .build();
        } catch (IOException e) {
            LOG.errorf(e, "cannot read this service's own token %s", config.tokenFile());
            return CompletableFuture.failedFuture(unavailable());
        }
        return http.sendAsync(request, HttpResponse.BodyHandlers.ofString())
                .handle(
                        (response, failure) -> {
                            if (failure != null) {
                                LOG.errorf(
                                        failure, "TokenReview at %s did not answer", config.url());
                                throw unavailable();
                            }
                            if (response.statusCode() != 201 && response.statusCode() != 200) {
                                LOG.errorf(
                                        "TokenReview at %s answered %d (does this service's account have the system:auth-delegator ClusterRole?)",
                                        config.url(), response.statusCode());
                                throw unavailable();
                            }
                            Optional<Caller> caller = caller(response.body());
                            answers.put(key, caller);
                            return caller;
                        });
    }

    private Optional<Caller> caller(String answer) {
        JsonNode status;
        try {
            status = json.readTree(answer).path("status");
        } catch (IOException e) {
            LOG.errorf(e, "TokenReview at %s answered something that is not JSON", config.url());
            throw unavailable();
        }
        if (!status.path("authenticated").asBoolean(false)) {
            return Optional.empty();
        }
        String user = status.path("user").path("username").asText("");
        Set<String> names = new HashSet<>();
        names.add(user);
        status.path("user").path("groups").forEach(g -> names.add(g.asText()));
        boolean admin = names.stream().anyMatch(admins::contains);
        String namespace = null;
        if (user.startsWith(SERVICE_ACCOUNT)) {
            String rest = user.substring(SERVICE_ACCOUNT.length());
            int colon = rest.indexOf(':');
            namespace = colon > 0 ? rest.substring(0, colon) : null;
        }
        if (namespace == null && !admin) {
            return Optional
                    .empty(); // a person or a node: neither a workload of a namespace nor admin
        }
        JsonNode pod = status.path("user").path("extra").path(POD_NAME).path(0);
        return Optional.of(
                new Caller(user, namespace, pod.isTextual() ? pod.asText() : null, admin));
    }

    /**
     * Trust of the API server: the CA in {@code caFile} when it exists (in a pod), else the JVM's
     * default trust.
     */
    public static SSLContext trusting(java.nio.file.Path caFile) {
        try {
            if (!Files.isReadable(caFile)) {
                return SSLContext.getDefault();
            }
            KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
            store.load(null, null);
            try (InputStream pem = Files.newInputStream(caFile)) {
                int i = 0;
                for (Certificate cert :
                        CertificateFactory.getInstance("X.509").generateCertificates(pem)) {
                    store.setCertificateEntry("ca-" + i++, cert);
                }
            }
            TrustManagerFactory trust =
                    TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(store);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, trust.getTrustManagers(), null);
            return context;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot load the API server's CA from " + caFile, e);
        }
    }

    private static ProblemException unavailable() {
        return new ProblemException(
                503,
                "Authentication unavailable",
                "the Kubernetes API server could not check the bearer token; try again");
    }

    private static String sha256(String token) {
        try {
            return HexFormat.of()
                    .formatHex(
                            MessageDigest.getInstance("SHA-256")
                                    .digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
