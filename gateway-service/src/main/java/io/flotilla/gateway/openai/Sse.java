package io.flotilla.gateway.openai;

import io.smallrye.mutiny.Multi;
import io.vertx.mutiny.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Server-sent events: parses an upstream byte stream into events (WHATWG rules, the parts LLM APIs
 * use).
 */
public final class Sse {

    private Sse() {}

    /** One event: its {@code event:} name (null when absent) and its joined {@code data:} lines. */
    public record Event(String event, String data) {}

    /** Splits a byte stream into events; bytes of one event may arrive in any number of buffers. */
    public static Multi<Event> parse(Multi<Buffer> bytes) {
        return Multi.createFrom()
                .deferred(
                        () -> {
                            StringBuilder pending = new StringBuilder();
                            byte[][] carry = {new byte[0]};
                            return bytes.onItem()
                                    .transformToIterable(
                                            buffer -> {
                                                byte[] incoming = buffer.getBytes();
                                                byte[] all =
                                                        new byte[carry[0].length + incoming.length];
                                                System.arraycopy(
                                                        carry[0], 0, all, 0, carry[0].length);
                                                System.arraycopy(
                                                        incoming,
                                                        0,
                                                        all,
                                                        carry[0].length,
                                                        incoming.length);
                                                int complete =
                                                        lastNewline(all) + 1; // never split a UTF-8
                                                // sequence: cut only after
                                                // '\n'
                                                carry[0] =
                                                        java.util.Arrays.copyOfRange(
                                                                all, complete, all.length);
                                                pending.append(
                                                        new String(
                                                                        all,
                                                                        0,
                                                                        complete,
                                                                        StandardCharsets.UTF_8)
                                                                .replace("\r\n", "\n")
                                                                .replace('\r', '\n'));
                                                return drain(pending);
                                            });
                        });
    }

    private static int lastNewline(byte[] bytes) {
        for (int i = bytes.length - 1; i >= 0; i--) {
            if (bytes[i] == '\n' || bytes[i] == '\r') {
                return i;
            }
        }
        return -1;
    }

    private static List<Event> drain(StringBuilder pending) {
        List<Event> events = new ArrayList<>();
        int end;
        while ((end = pending.indexOf("\n\n")) >= 0) {
            String block = pending.substring(0, end);
            pending.delete(0, end + 2);
            String event = null;
            StringBuilder data = null;
            for (String line : block.split("\n")) {
                if (line.startsWith(":")) {
                    continue; // comment / keep-alive
                }
                int colon = line.indexOf(':');
                String field = colon < 0 ? line : line.substring(0, colon);
                String value = colon < 0 ? "" : line.substring(colon + 1);
                if (value.startsWith(" ")) {
                    value = value.substring(1);
                }
                if (field.equals("event")) {
                    event = value;
                } else if (field.equals("data")) {
                    data =
                            data == null
                                    ? new StringBuilder(value)
                                    : data.append('\n').append(value);
                }
            }
            if (data != null) {
                events.add(new Event(event, data.toString()));
            }
        }
        return events;
    }
}
