package io.flotilla.executor.agent;

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
public class GatewayCall implements ClientResponseFilter {

    static final String IDEMPOTENCY_KEY = "Idempotency-Key";
    static final String BUDGET = "X-Flotilla-Budget";
    static final String COST = "x-flotilla-cost-usd";

    private static final ThreadLocal<Map<String, String>> HEADERS =
            ThreadLocal.withInitial(Map::of);
    private static final Map<String, Double> COSTS = new ConcurrentHashMap<>();

    /** The headers of the calls this thread makes next. */
    static void headers(Map<String, String> headers) {
        HEADERS.set(headers);
    }

    static Map<String, String> headers() {
        return HEADERS.get();
    }

    static void clear(String idempotencyKey) {
        HEADERS.remove();
        COSTS.remove(idempotencyKey);
    }

    /** The cost the gateway reported for the call with this key (0 when it reported none). */
    static double takeCost(String idempotencyKey) {
        Double cost = COSTS.remove(idempotencyKey);
        return cost == null ? 0 : cost;
    }

    @Override
    public void filter(ClientRequestContext request, ClientResponseContext response) {
        String key = request.getHeaderString(IDEMPOTENCY_KEY);
        String cost = response.getHeaderString(COST);
        if (key != null && cost != null) {
            try {
                COSTS.merge(key, Double.parseDouble(cost), Double::sum);
            } catch (NumberFormatException ignored) {
                // a gateway that reports no parsable cost is charged nothing here; its ledger stays
                // authoritative
            }
        }
    }
}
