/**
 * OpenAI-compatible services by name: `type: groq` in a config is the openai provider with this
 * base URL, this key variable, and the dialect the service speaks. Data, not code: a preset is
 * one line here.
 */

/** Where a service's Chat Completions differ from OpenAI's. */
export interface ChatDialect {
  /** The service reports usage in its last chunk unasked, and refuses `stream_options`. */
  usageUnasked?: boolean;
  /** The name the service gives the sampling seed. */
  seedField?: string;
  /** The service has no field for the end user: `user` is refused, not sent to be refused there. */
  noEndUser?: boolean;
}

export interface OpenAIPreset {
  baseUrl: string;
  /** The environment variable its own SDK reads the key from; none for local servers. */
  keyEnv?: string;
  dialect?: ChatDialect;
}

export const OPENAI_PRESETS = {
  groq: { baseUrl: "https://api.groq.com/openai/v1", keyEnv: "GROQ_API_KEY" },
  mistral: {
    baseUrl: "https://api.mistral.ai/v1",
    keyEnv: "MISTRAL_API_KEY",
    dialect: { usageUnasked: true, seedField: "random_seed", noEndUser: true },
  },
  deepseek: { baseUrl: "https://api.deepseek.com/v1", keyEnv: "DEEPSEEK_API_KEY" },
  together: { baseUrl: "https://api.together.xyz/v1", keyEnv: "TOGETHER_API_KEY" },
  fireworks: { baseUrl: "https://api.fireworks.ai/inference/v1", keyEnv: "FIREWORKS_API_KEY" },
  // Its SSE comments (": OPENROUTER PROCESSING") and mid-stream `error` chunks read as any stream's.
  openrouter: { baseUrl: "https://openrouter.ai/api/v1", keyEnv: "OPENROUTER_API_KEY" },
  xai: { baseUrl: "https://api.x.ai/v1", keyEnv: "XAI_API_KEY" },
  // Local servers: no key. Ollama may leave usage out of a stream; its finish is read without it.
  ollama: { baseUrl: "http://127.0.0.1:11434/v1" },
  vllm: { baseUrl: "http://127.0.0.1:8000/v1" },
} as const satisfies Record<string, OpenAIPreset>;

export type OpenAIPresetName = keyof typeof OPENAI_PRESETS;

export const OPENAI_PRESET_NAMES = Object.keys(OPENAI_PRESETS) as [OpenAIPresetName, ...OpenAIPresetName[]];
