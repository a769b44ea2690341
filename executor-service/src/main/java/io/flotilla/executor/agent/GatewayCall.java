package io.flotilla.executor.agent;

import jakarta.inject.Singleton;
import jakarta.ws.rs.client.ClientRequestContext;
import jakarta.ws.rs.client.ClientResponseContext;
import jakarta.ws.rs.client.ClientResponseFilter;
import jakarta.ws.rs.ext.Provider;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The per-call part of an LLM call that LangChain4j's request model has no field for: the headers
 * (idempotency key, budget scope) the worker thread sets before calling, and the cost the gateway
 * reports in {@code x-flotilla-cost-usd}, collected by idempotency key whichever thread reads the
 * response.
 */
@Provider
@Singleton
public class GatewayCall implements ClientResponseFilter {

    static final String IDEMPOTENCY_KEY = "Idempotency-Key";
    static final String BUDGET = "X-Flotilla-Budget";
    static final String COST = "x-flotilla-cost-usd";

    /**
     * The worker thread's next headers: LangChain4j asks a supplier for them on the calling thread,
     * and has no per-request field for headers.
     */
    private final ThreadLocal<Map<String, String>> headers = ThreadLocal.withInitial(Map::of);

    /** Costs of calls in flight, by idempotency key; each entry is removed by its caller. */
    private final Map<String, Double> costs = new ConcurrentHashMap<>();

    /** The headers of the calls this thread makes next. */
    void headers(Map<String, String> next) {
        headers.set(next);
    }

    Map<String, String> headers() {
        return headers.get();
    }

    void clear(String idempotencyKey) {
        headers.remove();
        costs.remove(idempotencyKey);
    }

    /** The cost the gateway reported for the call with this key (0 when it reported none). */
    double takeCost(String idempotencyKey) {
        Double cost = costs.remove(idempotencyKey);
        return cost == null ? 0 : cost;
    }

    @Override
    public void filter(ClientRequestContext request, ClientResponseContext response) {
        if (response.getHeaders() == null) {
            // the client runs response filters on a failed call too (a timeout): no response, no
            // cost; throwing here would hide the call's own failure behind this one
            return;
        }
        String key = request.getHeaderString(IDEMPOTENCY_KEY);
        String cost = response.getHeaderString(COST);
        if (key != null && cost != null) {
            try {
                costs.merge(key, Double.parseDouble(cost), Double::sum);
            } catch (NumberFormatException ignored) {
                // a gateway that reports no parsable cost is charged nothing here; its ledger stays
                // authoritative
            }
        }
    }
}
