package io.flotilla.console;

import jakarta.inject.Singleton;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Session cookies: {@code <admin|tenant:<id>>|<expiry>|<HMAC-SHA256>}, signed with the console's
 * session secret. The token a person signed in with is checked once against the gateway and never
 * kept: not in the cookie, not on the server.
 */
@Singleton
public class Sessions {

    static final String COOKIE = "flotilla_console";

    private final byte[] key;
    private final ConsoleConfig config;

    Sessions(ConsoleConfig config) {
        this.config = config;
        if (config.sessionSecret().isPresent()) {
            key = config.sessionSecret().get().getBytes(StandardCharsets.UTF_8);
        } else {
            key = new byte[32];
            new SecureRandom().nextBytes(key);
        }
    }

    /** A signed session value for the viewer. */
    String issue(Viewer viewer) {
        String who = viewer.admin() ? "admin" : "tenant:" + viewer.tenant();
        String body = who + "|" + Instant.now().plus(config.sessionTtl()).getEpochSecond();
        return Base64.getUrlEncoder()
                        .withoutPadding()
                        .encodeToString(body.getBytes(StandardCharsets.UTF_8))
                + "."
                + sign(body);
    }

    /** The viewer of a cookie value, or null when it is missing, forged or expired. */
    Viewer read(String value) {
        if (value == null) {
            return null;
        }
        int dot = value.indexOf('.');
        if (dot < 0) {
            return null;
        }
        String body;
        try {
            body =
                    new String(
                            Base64.getUrlDecoder().decode(value.substring(0, dot)),
                            StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return null;
        }
        if (!MessageDigest.isEqual(
                sign(body).getBytes(StandardCharsets.UTF_8),
                value.substring(dot + 1).getBytes(StandardCharsets.UTF_8))) {
            return null;
        }
        String[] parts = body.split("\\|");
        if (parts.length != 2 || Long.parseLong(parts[1]) < Instant.now().getEpochSecond()) {
            return null;
        }
        return parts[0].equals("admin")
                ? new Viewer(true, null)
                : parts[0].startsWith("tenant:") ? new Viewer(false, parts[0].substring(7)) : null;
    }

    long maxAgeSeconds() {
        return config.sessionTtl().toSeconds();
    }

    boolean secure() {
        return config.secureCookie();
    }

    private String sign(String body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return Base64.getUrlEncoder()
                    .withoutPadding()
                    .encodeToString(mac.doFinal(body.getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
