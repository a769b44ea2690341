package io.flotilla.gateway.provider;

import io.flotilla.gateway.route.Target;
import jakarta.inject.Singleton;

/** The provider that speaks a target's wire format. */
@Singleton
public class Providers {

    private final OpenAiProvider openai;
    private final AnthropicProvider anthropic;
    private final GeminiProvider gemini;
    private final MockProvider mock;

    Providers(
            OpenAiProvider openai,
            AnthropicProvider anthropic,
            GeminiProvider gemini,
            MockProvider mock) {
        this.openai = openai;
        this.anthropic = anthropic;
        this.gemini = gemini;
        this.mock = mock;
    }

    public Provider of(Target target) {
        return switch (target.kind()) {
            case OPENAI -> openai;
            case ANTHROPIC -> anthropic;
            case GEMINI -> gemini;
            case MOCK -> mock;
        };
    }
}
