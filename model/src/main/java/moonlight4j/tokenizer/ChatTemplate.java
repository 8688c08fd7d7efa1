package moonlight4j.tokenizer;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Renders a conversation as the text a Moonlight Instruct model reads (docs/tokenizer.md#chat-template).
 *
 * <p>Built-in format (no newlines anywhere), one block per message:
 * <pre>
 *   &lt;|im_system|&gt;system&lt;|im_middle|&gt;{content}&lt;|im_end|&gt;
 *   &lt;|im_user|&gt;user&lt;|im_middle|&gt;{content}&lt;|im_end|&gt;
 *   &lt;|im_assistant|&gt;assistant&lt;|im_middle|&gt;{content}&lt;|im_end|&gt;
 * </pre>
 * i.e. role-marker special token, the role name as plain text, {@code <|im_middle|>}, the content,
 * {@code <|im_end|>}; with a generation prompt, {@code <|im_assistant|>assistant<|im_middle|>} follows. Encode the
 * result with {@link Tokenizer#encode} (special tokens allowed) to get the marker ids.
 *
 * <p>When a model directory's {@code tokenizer_config.json} carries a {@code chat_template}, {@link #fromModelDir}
 * renders that Jinja template instead (Jinjava, with {@code trim_blocks}/{@code lstrip_blocks} as HF sets them, the
 * variables {@code messages}, {@code add_generation_prompt}, {@code bos_token}, {@code eos_token}, and a
 * {@code raise_exception(msg)} function).
 *
 * <p>Default system prompt: the released template's default (what it inserts when the conversation has no system
 * turn) is not confirmed by a public source, so none is ever assumed. {@link #withDefaultSystemPrompt} sets one
 * explicitly: it is then put first as a system message whenever the conversation has no system message, on either path.
 * {@link #MOONLIGHT_README_SYSTEM_PROMPT} is the one the Moonlight README's example passes.
 */
public final class ChatTemplate {

    /** The system prompt of the Moonlight README's example — an example, not a verified template default. */
    public static final String MOONLIGHT_README_SYSTEM_PROMPT = "You are a helpful assistant provided by Moonshot-AI.";

    private static final Map<String, String> ROLE_MARKERS = Map.of(
            "system", SpecialTokens.IM_SYSTEM,
            "user", SpecialTokens.IM_USER,
            "assistant", SpecialTokens.IM_ASSISTANT);

    private final String jinja; // null: built-in format
    private final String defaultSystemPrompt; // null: none
    private final String bosToken;
    private final String eosToken;
    private final Jinjava jinjava; // null for the built-in format

    private ChatTemplate(String jinja, String defaultSystemPrompt, String bosToken, String eosToken) {
        this.jinja = jinja;
        this.jinjava = jinja == null ? null : newJinjava();
        this.defaultSystemPrompt = defaultSystemPrompt;
        this.bosToken = bosToken;
        this.eosToken = eosToken;
    }

    /** The built-in Moonlight format, no default system prompt. */
    public static ChatTemplate moonlight() {
        return new ChatTemplate(null, null, SpecialTokens.BOS, SpecialTokens.EOS);
    }

    /** A Jinja chat template (HF {@code chat_template} syntax). */
    public static ChatTemplate jinja(String template) {
        return new ChatTemplate(template, null, SpecialTokens.BOS, SpecialTokens.EOS);
    }

    /** The config's {@code chat_template} if it has one, else the built-in format. */
    public static ChatTemplate fromConfig(TokenizerConfig config) {
        return new ChatTemplate(config.chatTemplate().orElse(null), null, config.bosToken(), config.eosToken());
    }

    /** {@link #fromConfig} of {@code modelDir/tokenizer_config.json}. */
    public static ChatTemplate fromModelDir(Path modelDir) throws IOException {
        return fromConfig(TokenizerConfig.read(modelDir.resolve(TiktokenLoader.CONFIG_FILE)));
    }

    /** This template with an explicit default system prompt (null for none). */
    public ChatTemplate withDefaultSystemPrompt(String prompt) {
        return new ChatTemplate(jinja, prompt, bosToken, eosToken);
    }

    public boolean isJinja() {
        return jinja != null;
    }

    public Optional<String> defaultSystemPrompt() {
        return Optional.ofNullable(defaultSystemPrompt);
    }

    /**
     * The conversation as model input text.
     *
     * @param addGenerationPrompt append the opening of an assistant turn for the model to complete
     * @throws IllegalArgumentException for a role the built-in format does not know, or a Jinja error
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        List<ChatMessage> turns = withSystemPrompt(messages);
        return jinja == null ? renderBuiltIn(turns, addGenerationPrompt) : renderJinja(turns, addGenerationPrompt);
    }

    /**
     * {@link #render} then {@link Tokenizer#encode} (special tokens allowed, as HF's {@code apply_chat_template}
     * tokenizes): the model-input ids of the conversation.
     */
    public int[] encode(Tokenizer tokenizer, List<ChatMessage> messages, boolean addGenerationPrompt) {
        return tokenizer.encode(render(messages, addGenerationPrompt));
    }

    /**
     * The built-in format's rendering of {@code messages} (without generation prompt) cut into its blocks, in order:
     * the default system prompt's block when it is put first, then one block per message; their concatenation is
     * {@code render(messages, false)}. Empty for a Jinja template, whose output cannot be cut by message.
     */
    public Optional<List<String>> blocks(List<ChatMessage> messages) {
        if (jinja != null) return Optional.empty();
        List<ChatMessage> turns = withSystemPrompt(messages);
        List<String> out = new ArrayList<>(turns.size());
        for (int i = 0; i < turns.size(); i++) out.add(block(i, turns.get(i)));
        return Optional.of(out);
    }

    /** What {@code addGenerationPrompt} appends in the built-in format: the opening of an assistant turn. */
    public static String generationPrompt() {
        return SpecialTokens.IM_ASSISTANT + "assistant" + SpecialTokens.IM_MIDDLE;
    }

    private List<ChatMessage> withSystemPrompt(List<ChatMessage> messages) {
        if (defaultSystemPrompt == null || messages.stream().anyMatch(m -> m.role().equals("system"))) {
            return messages;
        }
        var out = new ArrayList<ChatMessage>(messages.size() + 1);
        out.add(ChatMessage.system(defaultSystemPrompt));
        out.addAll(messages);
        return out;
    }

    private static String renderBuiltIn(List<ChatMessage> messages, boolean addGenerationPrompt) {
        var sb = new StringBuilder();
        for (int i = 0; i < messages.size(); i++) sb.append(block(i, messages.get(i)));
        if (addGenerationPrompt) sb.append(generationPrompt());
        return sb.toString();
    }

    /** Message {@code i}'s block of the built-in format: marker, role, {@code <|im_middle|>}, content, end. */
    private static String block(int i, ChatMessage m) {
        String marker = ROLE_MARKERS.get(m.role());
        if (marker == null) {
            throw new IllegalArgumentException("message " + i + " has role \"" + m.role()
                    + "\"; the Moonlight chat format knows system, user, assistant");
        }
        return marker + m.role() + SpecialTokens.IM_MIDDLE + m.content() + SpecialTokens.IM_END;
    }

    /** Jinjava set up as HF's chat-template environment: trim_blocks, lstrip_blocks, raise_exception. */
    private static Jinjava newJinjava() {
        var jinjava = new Jinjava(JinjavaConfig.newBuilder().withTrimBlocks(true).withLstripBlocks(true).build());
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                ChatTemplate.class, "raiseException", String.class));
        return jinjava;
    }

    private String renderJinja(List<ChatMessage> messages, boolean addGenerationPrompt) {
        var msgs = new ArrayList<Map<String, Object>>();
        for (ChatMessage m : messages) {
            var map = new HashMap<String, Object>();
            map.put("role", m.role());
            map.put("content", m.content());
            msgs.add(map);
        }
        var context = new HashMap<String, Object>();
        context.put("messages", msgs);
        context.put("add_generation_prompt", addGenerationPrompt);
        context.put("bos_token", bosToken);
        context.put("eos_token", eosToken);
        RenderResult result = jinjava.renderForResult(jinja, context);
        var errors = result.getErrors().stream()
                .filter(e -> e.getSeverity() != TemplateError.ErrorType.WARNING)
                .map(ChatTemplate::describe)
                .toList();
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException("chat_template failed to render: " + String.join("; ", errors));
        }
        return result.getOutput();
    }

    /** The error's message and, where Jinjava wrapped an exception (e.g. from raise_exception), its root cause. */
    private static String describe(TemplateError e) {
        String text = "line " + e.getLineno() + ": " + e.getMessage();
        Throwable root = e.getException();
        while (root != null && root.getCause() != null && root.getCause() != root) root = root.getCause();
        if (root != null && root.getMessage() != null && !text.contains(root.getMessage())) {
            text += " (" + root.getMessage() + ")";
        }
        return text;
    }

    /** {@code raise_exception(msg)} of HF chat templates: stops rendering with {@code msg}. */
    public static String raiseException(String message) {
        throw new IllegalArgumentException(message);
    }
}
