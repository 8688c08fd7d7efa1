package moonlight4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.data.ChatJsonl;
import moonlight4j.generate.GenerationConfig;
import moonlight4j.generate.Generator;
import moonlight4j.lora.LoraAdapters;
import moonlight4j.model.MlaCache;
import moonlight4j.model.MlaDecoding;
import moonlight4j.model.MoonlightCheckpoint;
import moonlight4j.model.MoonlightModel;
import moonlight4j.tokenizer.ChatMessage;
import moonlight4j.tokenizer.ChatTemplate;
import moonlight4j.tokenizer.SpecialTokens;
import moonlight4j.tokenizer.StreamDecoder;
import moonlight4j.tokenizer.TiktokenLoader;
import moonlight4j.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * {@code moonlight generate --model DIR --prompt TEXT}: loads an HF-layout model directory (config, safetensors, and
 * the tokenizer files {@code tiktoken.model} + {@code tokenizer_config.json}), continues the prompt with the cached
 * generator ({@link Generator}) and streams the text to stdout as tokens arrive (an unfinished UTF-8 character is held
 * back, {@link StreamDecoder}). Stops at {@code [EOS]}, {@code <|im_end|>} or config.json's {@code eos_token_id}.
 * With {@code --chat} the prompt is one user turn in the chat template (SPEC §3.4), with a system turn only when
 * {@code --system} is given. Timing and cache size go to stderr.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Continue a prompt with a model directory, streaming the text (compressed MLA cache).")
final class GenerateCommand implements Callable<Integer> {

    @Option(names = {"--model", "--checkpoint"}, required = true, paramLabel = "DIR",
            description = "HF-layout model directory: config.json, safetensors, tiktoken.model, tokenizer_config.json")
    Path model;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "the prompt text (or the user turn with --chat)")
    String prompt;

    @Option(names = "--messages", paramLabel = "FILE",
            description = "--chat with a conversation: a JSON file {\"messages\": [{\"role\", \"content\"}, ...]} "
                    + "(ms-swift format); the model answers after its last turn")
    Path messagesFile;

    @Option(names = "--adapter", paramLabel = "DIR",
            description = "a PEFT LoRA adapter directory (adapter_config.json + adapter_model.safetensors), merged "
                    + "into the weights in memory")
    Path adapter;

    @Option(names = "--chat", description = "render the prompt as a user turn of the chat template + generation prompt")
    boolean chat;

    @Option(names = "--system", paramLabel = "TEXT", description = "system prompt for --chat (none unless given)")
    String system;

    @Option(names = "--max-new-tokens", paramLabel = "N", defaultValue = "128", description = "default: ${DEFAULT-VALUE}")
    int maxNewTokens;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0",
            description = "0 = greedy (default), else sampling temperature")
    double temperature;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "0", description = "0 = off (default)")
    int topK;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "1", description = "1 = off (default)")
    double topP;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "sampling seed (default 0)")
    long seed;

    @Option(names = "--mla", paramLabel = "MODE", defaultValue = "recompute",
            description = "recompute (default: k_nope/v rebuilt from the cached latent, the release's rounding) or "
                    + "absorb (W_UK/W_UV folded into query and output, less work per token)")
    String mla;

    @Option(names = "--truncate", description = "keep the end of a prompt longer than the model's context")
    boolean truncate;

    @Mixin
    BackendOption backend;

    @Option(names = "--stream", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "print each piece of text as its token is produced (default); --no-stream prints the reply "
                    + "when it is complete")
    boolean stream;

    @Option(names = "--interactive",
            description = "with --chat: read user turns from stdin, one per line, until an empty line or end of input")
    boolean interactive;

    private Tokenizer tok;
    private MoonlightModel m;
    private Generator generator;
    private GenerationConfig gen;
    private Set<Long> stops;

    @Override
    public Integer call() throws Exception {
        if (system != null && !chat) throw new IllegalArgumentException("--system needs --chat");
        if (messagesFile != null && !chat) throw new IllegalArgumentException("--messages needs --chat");
        if (interactive && !chat) throw new IllegalArgumentException("--interactive needs --chat");
        if (!interactive && (prompt == null) == (messagesFile == null)) {
            throw new IllegalArgumentException("give exactly one of --prompt TEXT and --chat --messages FILE "
                    + "(or --chat --interactive)");
        }
        if (!Files.isDirectory(model)) throw new IllegalArgumentException("model directory " + model + " does not exist");
        for (String f : new String[]{TiktokenLoader.RANKS_FILE, TiktokenLoader.CONFIG_FILE}) {
            if (!Files.isRegularFile(model.resolve(f))) {
                throw new IllegalArgumentException("model directory " + model + " has no tokenizer file " + f
                        + " (needed: " + TiktokenLoader.RANKS_FILE + " and " + TiktokenLoader.CONFIG_FILE + ")");
            }
        }
        MlaDecoding mode = switch (mla) {
            case "recompute" -> MlaDecoding.RECOMPUTE;
            case "absorb" -> MlaDecoding.ABSORB;
            default -> throw new IllegalArgumentException("--mla must be recompute or absorb, got " + mla);
        };
        gen = new GenerationConfig(maxNewTokens, temperature, topK, topP, seed, Set.of());
        Backend be = backend.resolve();
        tok = TiktokenLoader.load(model);
        MoonlightCheckpoint.Loaded loaded = MoonlightCheckpoint.load(model, be);
        m = loaded.model(be);
        if (adapter != null) {
            LoraAdapters lora = LoraAdapters.load(adapter, loaded.config(), be);
            m = new MoonlightModel(be, loaded.config(), lora.merged(be, loaded.parameters()));
            System.err.println("LoRA adapter " + adapter + ": r " + lora.config().rank() + ", alpha "
                    + lora.config().alpha() + ", " + lora.targets().size() + " weights merged");
        }
        generator = new Generator(m, mode);
        stops = stopIds(tok, loaded.config().unused().get("eos_token_id"));
        gen = gen.withStopIds(stops);
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);

        if (!interactive) {
            respond(toLongs(chat ? chatTemplate().encode(tok, messages(), true) : tok.encode(prompt)), out);
            return 0;
        }
        List<ChatMessage> conversation = messagesFile != null || prompt != null ? messages() : new ArrayList<>();
        if (system != null && conversation.isEmpty()) conversation.add(ChatMessage.system(system));
        if (!conversation.isEmpty() && conversation.get(conversation.size() - 1).role().equals("user")) {
            String reply = respond(toLongs(chatTemplate().encode(tok, conversation, true)), out);
            conversation.add(ChatMessage.assistant(reply));
        }
        var in = new java.io.BufferedReader(new java.io.InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; ; ) {
            System.err.print("> ");
            System.err.flush();
            if ((line = in.readLine()) == null || line.isEmpty()) break;
            conversation.add(ChatMessage.user(line));
            String reply = respond(toLongs(chatTemplate().encode(tok, conversation, true)), out);
            conversation.add(ChatMessage.assistant(reply));
        }
        return 0;
    }

    /** Generates after {@code ids}, streaming the text to {@code out}; returns the text (stop token excluded). */
    private String respond(long[] ids, PrintStream out) {
        int context = m.config().maxPositionEmbeddings();
        if (ids.length == 0) throw new IllegalArgumentException("the prompt encodes to no tokens");
        if (ids.length > context) {
            if (!truncate) {
                throw new IllegalArgumentException("the prompt has " + ids.length + " tokens, more than the model's "
                        + "context of " + context + " (max_position_embeddings); shorten it or pass --truncate");
            }
            int keep = Math.max(1, context - maxNewTokens);
            System.err.println("prompt truncated from " + ids.length + " to its last " + keep + " tokens");
            ids = Arrays.copyOfRange(ids, ids.length - keep, ids.length);
        }
        StreamDecoder text = new StreamDecoder(tok);
        StringBuilder reply = new StringBuilder();
        Generator.Result r = generator.generate(new long[][]{ids}, gen, false, (row, token) -> {
            if (stops.contains(token)) return;
            String piece = token < tok.vocabSize() ? text.push((int) token) : "\uFFFD";
            reply.append(piece);
            if (stream) {
                out.print(piece);
                out.flush();
            }
        });
        String rest = text.finish();
        reply.append(rest);
        out.println(stream ? rest : reply);

        long n = r.tokens()[0].length;
        double decodeS = r.decodeNanos() / 1e9, prefillS = r.prefillNanos() / 1e9;
        DType dt = m.dtype();
        System.err.printf("%d new tokens (%s); prefill %d tokens in %.3f s; decode %.2f tokens/s%n", n,
                r.finish()[0].name().toLowerCase(), ids.length, prefillS, n > 1 ? (n - 1) / decodeS : 0.0);
        System.err.printf("MLA cache: %,d bytes (%,d per token compressed vs %,d for full K/V, %s)%n", r.cacheBytes(),
                MlaCache.bytesPerToken(m.config(), dt), MlaCache.fullKvBytesPerToken(m.config(), dt), dt);
        return reply.toString();
    }

    private ChatTemplate chatTemplate() throws java.io.IOException {
        return ChatTemplate.fromModelDir(model);
    }

    private List<ChatMessage> messages() throws java.io.IOException {
        List<ChatMessage> msgs = new ArrayList<>();
        if (messagesFile != null) {
            try {
                msgs.addAll(ChatJsonl.parseMessages(Files.readString(messagesFile)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(messagesFile + ": " + e.getMessage());
            }
            if (system != null && msgs.stream().noneMatch(x -> x.role().equals("system"))) {
                msgs.add(0, ChatMessage.system(system));
            }
            return msgs;
        }
        if (system != null) msgs.add(ChatMessage.system(system));
        msgs.add(ChatMessage.user(prompt));
        return msgs;
    }

    /**
     * The tokenizer's EOS, {@code <|im_end|>}, and config.json's {@code eos_token_id} (a number or a list) where it
     * names one of the tokenizer's special tokens (a config copied from another vocabulary, e.g. the tiny preset's
     * {@code eos_token_id 2}, would otherwise stop on an ordinary byte).
     */
    static Set<Long> stopIds(Tokenizer tok, JsonNode configEos) {
        Set<Long> s = new LinkedHashSet<>();
        s.add((long) tok.eosId());
        if (tok.specialTokens().contains(SpecialTokens.IM_END)) s.add((long) tok.specialTokenId(SpecialTokens.IM_END));
        List<JsonNode> ids = new ArrayList<>();
        if (configEos != null && configEos.isNumber()) ids.add(configEos);
        if (configEos != null && configEos.isArray()) configEos.forEach(ids::add);
        for (JsonNode id : ids) {
            if (id.canConvertToInt() && id.asInt() >= 0 && id.asInt() < tok.vocabSize() && tok.isSpecial(id.asInt())) {
                s.add(id.asLong());
            }
        }
        return s;
    }

    private static long[] toLongs(int[] a) {
        long[] l = new long[a.length];
        for (int i = 0; i < a.length; i++) l[i] = a[i];
        return l;
    }
}
