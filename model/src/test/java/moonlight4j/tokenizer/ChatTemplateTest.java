package moonlight4j.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static moonlight4j.testing.Qt.qt;
import static org.quicktheories.generators.SourceDSL.lists;
import static org.quicktheories.generators.SourceDSL.strings;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/** Chat rendering (docs/tokenizer.md#chat-template): the built-in Moonlight format, and a Jinja template from tokenizer_config.json. */
class ChatTemplateTest {

    @TempDir
    Path dir;

    /**
     * A Jinja template in HF style that writes the Moonlight format and inserts its own system turn when the
     * conversation has none (as a released template might; its real text is not confirmed by a public source,
     * docs/tokenizer.md#chat-template).
     */
    static final String MOONLIGHT_LIKE_JINJA = """
            {%- for message in messages -%}
            {%- if loop.first and messages[0]['role'] != 'system' -%}
            <|im_system|>system<|im_middle|>You are a helpful assistant<|im_end|>
            {%- endif -%}
            {%- if message['role'] == 'system' -%}<|im_system|>
            {%- elif message['role'] == 'user' -%}<|im_user|>
            {%- elif message['role'] == 'assistant' -%}<|im_assistant|>
            {%- else -%}{{ raise_exception('unknown role ' + message['role']) }}
            {%- endif -%}
            {{ message['role'] }}<|im_middle|>{{ message['content'] }}<|im_end|>
            {%- endfor -%}
            {%- if add_generation_prompt -%}<|im_assistant|>assistant<|im_middle|>{%- endif -%}
            """;

    private static final List<ChatMessage> CONVERSATION = List.of(
            ChatMessage.system(ChatTemplate.MOONLIGHT_README_SYSTEM_PROMPT),
            ChatMessage.user("What is 1+2?"),
            ChatMessage.assistant("3"),
            ChatMessage.user("And 2+3?"));

    @Test
    void builtInFormatIsTheDocumentedOne() {
        String expected = "<|im_system|>system<|im_middle|>You are a helpful assistant provided by Moonshot-AI.<|im_end|>"
                + "<|im_user|>user<|im_middle|>What is 1+2?<|im_end|>"
                + "<|im_assistant|>assistant<|im_middle|>3<|im_end|>"
                + "<|im_user|>user<|im_middle|>And 2+3?<|im_end|>";
        ChatTemplate t = ChatTemplate.moonlight();
        assertThat(t.isJinja()).isFalse();
        assertThat(t.render(CONVERSATION, false)).isEqualTo(expected);
        assertThat(t.render(CONVERSATION, true)).isEqualTo(expected + "<|im_assistant|>assistant<|im_middle|>");
    }

    @Test
    void renderedTurnsEncodeToMarkerIdsRoleTextMiddleContentEnd() {
        Tokenizer tok = ByteVocabulary.create();
        int[] ids = ChatTemplate.moonlight().encode(tok, List.of(ChatMessage.user("hi")), true);
        var expected = new ArrayList<Integer>();
        expected.add(tok.specialTokenId(SpecialTokens.IM_USER));
        for (byte b : "user".getBytes(StandardCharsets.UTF_8)) expected.add((int) b);
        expected.add(tok.specialTokenId(SpecialTokens.IM_MIDDLE));
        expected.add((int) 'h');
        expected.add((int) 'i');
        expected.add(tok.specialTokenId(SpecialTokens.IM_END));
        expected.add(tok.specialTokenId(SpecialTokens.IM_ASSISTANT));
        for (byte b : "assistant".getBytes(StandardCharsets.UTF_8)) expected.add((int) b);
        expected.add(tok.specialTokenId(SpecialTokens.IM_MIDDLE));
        assertThat(IntStream.of(ids).boxed().toList()).isEqualTo(expected);
    }

    @Test
    void noSystemPromptIsAssumedUnlessOneIsGiven() {
        List<ChatMessage> noSystem = List.of(ChatMessage.user("hi"));
        assertThat(ChatTemplate.moonlight().defaultSystemPrompt()).isEmpty();
        assertThat(ChatTemplate.moonlight().render(noSystem, false))
                .isEqualTo("<|im_user|>user<|im_middle|>hi<|im_end|>");
        ChatTemplate withPrompt = ChatTemplate.moonlight().withDefaultSystemPrompt("Be brief.");
        assertThat(withPrompt.render(noSystem, false)).isEqualTo(
                "<|im_system|>system<|im_middle|>Be brief.<|im_end|><|im_user|>user<|im_middle|>hi<|im_end|>");
        // a conversation's own system turn wins over the default
        assertThat(withPrompt.render(CONVERSATION, false)).isEqualTo(ChatTemplate.moonlight().render(CONVERSATION, false));
    }

    @Test
    void unknownRoleIsAClearError() {
        assertThatThrownBy(() -> ChatTemplate.moonlight().render(List.of(ChatMessage.user("a"),
                new ChatMessage("tool", "x")), false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("message 1")
                .hasMessageContaining("\"tool\"");
    }

    private ChatTemplate jinjaFromModelDir(String template) throws IOException {
        TiktokenWriter.write(ByteVocabulary.create(), dir, template);
        return ChatTemplate.fromModelDir(dir);
    }

    @Test
    void aModelDirectoryWithoutTemplateUsesTheBuiltInFormat() throws IOException {
        ByteVocabulary.write(dir);
        ChatTemplate t = ChatTemplate.fromModelDir(dir);
        assertThat(t.isJinja()).isFalse();
        assertThat(t.render(CONVERSATION, true)).isEqualTo(ChatTemplate.moonlight().render(CONVERSATION, true));
    }

    @Test
    void aJinjaTemplateFromTokenizerConfigIsRenderedInstead() throws IOException {
        ChatTemplate t = jinjaFromModelDir(MOONLIGHT_LIKE_JINJA);
        assertThat(t.isJinja()).isTrue();
        assertThat(t.render(CONVERSATION, true)).isEqualTo(ChatTemplate.moonlight().render(CONVERSATION, true));
        // the template's own default system turn appears only because the template writes it
        assertThat(t.render(List.of(ChatMessage.user("hi")), false)).isEqualTo(
                "<|im_system|>system<|im_middle|>You are a helpful assistant<|im_end|>"
                        + "<|im_user|>user<|im_middle|>hi<|im_end|>");
        // an explicit default system prompt is inserted before the template runs
        assertThat(t.withDefaultSystemPrompt("Be brief.").render(List.of(ChatMessage.user("hi")), false))
                .startsWith("<|im_system|>system<|im_middle|>Be brief.<|im_end|>");
    }

    @Test
    void jinjaAndBuiltInAgreeOnConversationsThatStartWithASystemTurn() throws IOException {
        ChatTemplate jinja = jinjaFromModelDir(MOONLIGHT_LIKE_JINJA);
        ChatTemplate builtIn = ChatTemplate.moonlight();
        Gen<ChatMessage> turn = Generate.pick(List.of("user", "assistant"))
                .zip(strings().basicLatinAlphabet().ofLengthBetween(0, 12), ChatMessage::new);
        Gen<List<ChatMessage>> conversations = lists().of(turn).ofSizeBetween(0, 6).zip(
                strings().basicLatinAlphabet().ofLengthBetween(0, 12), (turns, system) -> {
                    var all = new ArrayList<ChatMessage>();
                    all.add(ChatMessage.system(system));
                    all.addAll(turns);
                    return all;
                });
        qt().withExamples(100).forAll(conversations, Generate.booleans())
                .check((c, gen) -> jinja.render(c, gen).equals(builtIn.render(c, gen)));
    }

    @Test
    void templateVariablesAndRaiseException() throws IOException {
        ChatTemplate t = jinjaFromModelDir("{{ bos_token }}{{ messages[0]['content'] }}{{ eos_token }}");
        assertThat(t.render(List.of(ChatMessage.user("hi")), false)).isEqualTo("[BOS]hi[EOS]");
        ChatTemplate strict = jinjaFromModelDir(MOONLIGHT_LIKE_JINJA);
        assertThatThrownBy(() -> strict.render(List.of(new ChatMessage("tool", "x")), false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unknown role tool");
    }
}
