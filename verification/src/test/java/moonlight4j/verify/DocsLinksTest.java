package moonlight4j.verify;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The reading path in {@code docs/} cannot go stale: every relative link of every page (and of the READMEs that link
 * into them) points at a file or folder that exists, every {@code <page>.md#<anchor>} at a heading of that page, and
 * every such citation of a page in {@code docs/} in a Java comment likewise. Anchors follow GitHub's rule: the
 * heading's text in lower case, characters other than letters, digits, spaces, hyphens and underscores dropped,
 * spaces turned into hyphens, {@code -1}, {@code -2}, … appended to repeats.
 */
class DocsLinksTest {

    private static final Pattern LINK = Pattern.compile("\\[[^\\]]*\\]\\(([^)\\s]+)\\)");
    private static final Pattern HEADING = Pattern.compile("^#{1,6}\\s+(.*?)\\s*#*\\s*$");
    private static final Pattern JAVA_CITATION = Pattern.compile("docs/([A-Za-z0-9_-]+\\.md)(#[A-Za-z0-9_-]+)?");

    @Test
    void everyLinkInDocsResolves() throws IOException {
        Path root = repositoryRoot();
        List<Path> pages = pages(root);
        assertThat(pages).extracting(p -> p.getFileName().toString())
                .contains("README.md", "muon.md", "model.md", "verification.md");
        List<String> problems = new ArrayList<>();
        int checked = 0;
        for (Path page : pages) {
            for (String target : links(Files.readString(page, StandardCharsets.UTF_8))) {
                if (target.matches("^[a-zA-Z][a-zA-Z0-9+.-]*:.*")) continue;           // http:, https:, mailto:
                checked++;
                String problem = check(page, target);
                if (problem != null) problems.add(root.relativize(page) + ": " + problem);
            }
        }
        assertThat(problems).as("broken links in docs/").isEmpty();
        assertThat(checked).as("relative links found in docs/ (a parser that finds none checks nothing)")
                .isGreaterThan(100);
    }

    @Test
    void everyDocsCitationInTheJavaSourcesResolves() throws IOException {
        Path root = repositoryRoot();
        List<String> problems = new ArrayList<>();
        int checked = 0;
        for (Path java : javaSources(root)) {
            Matcher m = JAVA_CITATION.matcher(Files.readString(java, StandardCharsets.UTF_8));
            while (m.find()) {
                checked++;
                String target = m.group(1) + (m.group(2) == null ? "" : m.group(2));
                String problem = check(root.resolve("docs").resolve("README.md"), target);
                if (problem != null) problems.add(root.relativize(java) + ": docs/" + problem);
            }
        }
        assertThat(problems).as("citations of docs/ pages in *.java that do not resolve").isEmpty();
        assertThat(checked).as("docs/ citations found in the Java sources").isGreaterThan(100);
    }

    /**
     * Comments cite what a reader of the repository can open: these pages, the paper, release files by name,
     * golden-data/FORMAT.md. Not the project's private working notes, not line numbers of one copy of a release file,
     * not the issue that once asked for the code.
     */
    @Test
    void javaSourcesCiteNeitherPrivateNotesNorLineNumbersNorIssues() throws IOException {
        Path root = repositoryRoot();
        Pattern unreadable = Pattern.compile("SPEC\\s*§|SPEC\\.md|\\bR L\\d|\\b[Ii]ssue \\d");
        List<String> problems = new ArrayList<>();
        for (Path java : javaSources(root)) {
            String[] lines = Files.readString(java, StandardCharsets.UTF_8).split("\n", -1);
            for (int i = 0; i < lines.length; i++) {
                if (unreadable.matcher(lines[i]).find()) {
                    problems.add(root.relativize(java) + ":" + (i + 1) + ": " + lines[i].strip());
                }
            }
        }
        assertThat(problems).as("citations a reader of the repository cannot follow (cite docs/*.md instead)")
                .isEmpty();
    }

    @Test
    void anchorsFollowGitHubsRule() {
        assertThat(anchors("# Muon\n## Newton-Schulz\n## Update scale\n### bf16 Newton-Schulz bits\n"
                + "## `moonlight explain`\n## Update scale\n```\n## not a heading\n```\n"))
                .containsExactly("muon", "newton-schulz", "update-scale", "bf16-newton-schulz-bits",
                        "moonlight-explain", "update-scale-1");
        assertThat(links("see [a](x.md#y) and `[b](not-a-link.md)` and\n```\n[c](in-code.md)\n```\n[d](../z.java)"))
                .containsExactly("x.md#y", "../z.java");
    }

    /** Null when {@code target} (relative to {@code from}'s folder) exists and its anchor names a heading. */
    private static String check(Path from, String target) {
        int hash = target.indexOf('#');
        String file = hash < 0 ? target : target.substring(0, hash);
        String anchor = hash < 0 ? null : target.substring(hash + 1);
        Path resolved = file.isEmpty() ? from : from.getParent().resolve(file).normalize();
        if (!Files.exists(resolved)) return target + " → " + resolved + " does not exist";
        if (anchor == null) return null;
        if (!resolved.toString().endsWith(".md")) return target + ": an anchor into a file that is not a page";
        try {
            Set<String> known = anchors(Files.readString(resolved, StandardCharsets.UTF_8));
            return known.contains(anchor) ? null
                    : target + ": no heading with anchor #" + anchor + " (has " + known + ")";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The link targets of a page, outside fenced code blocks and inline code. */
    static List<String> links(String markdown) {
        List<String> out = new ArrayList<>();
        for (String line : prose(markdown)) {
            Matcher m = LINK.matcher(line.replaceAll("`[^`]*`", ""));
            while (m.find()) out.add(m.group(1));
        }
        return out;
    }

    /** GitHub's heading anchors of a page, in order. */
    static Set<String> anchors(String markdown) {
        Set<String> out = new LinkedHashSet<>();
        Map<String, Integer> seen = new HashMap<>();
        for (String line : prose(markdown)) {
            Matcher m = HEADING.matcher(line);
            if (!m.matches()) continue;
            String text = m.group(1).replaceAll("\\[([^\\]]*)\\]\\([^)]*\\)", "$1");      // [text](url) → text
            String slug = text.toLowerCase(java.util.Locale.ROOT).replaceAll("[^\\p{L}\\p{N} _-]", "")
                    .replace(' ', '-');
            int n = seen.merge(slug, 1, Integer::sum) - 1;
            out.add(n == 0 ? slug : slug + "-" + n);
        }
        return out;
    }

    /** The lines of a page outside fenced code blocks. */
    private static List<String> prose(String markdown) {
        List<String> out = new ArrayList<>();
        boolean fenced = false;
        for (String line : markdown.split("\n", -1)) {
            if (line.stripLeading().startsWith("```")) {
                fenced = !fenced;
                continue;
            }
            if (!fenced) out.add(line);
        }
        return out;
    }

    /** Every page in docs/, and the repository's other pages that link into them (golden-data/ is the release's). */
    private static List<Path> pages(Path root) throws IOException {
        try (Stream<Path> s = Files.list(root.resolve("docs"))) {
            List<Path> pages = new ArrayList<>(s.filter(p -> p.toString().endsWith(".md")).sorted().toList());
            pages.add(root.resolve("README.md"));
            Path examples = root.resolve("examples").resolve("README.md");
            if (Files.isRegularFile(examples)) pages.add(examples);
            return pages;
        }
    }

    private static List<Path> javaSources(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(p -> p.toString().endsWith(".java"))
                    .filter(p -> {
                        for (Path part : root.relativize(p)) {
                            if (part.toString().equals("target") || part.toString().startsWith(".")) return false;
                        }
                        return true;
                    }).sorted().toList();
        }
    }

    /** The repository root: the nearest folder above the working directory with docs/README.md. */
    private static Path repositoryRoot() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("docs").resolve("README.md"))) return p;
        }
        throw new IllegalStateException("docs/README.md not found above " + Path.of("").toAbsolutePath());
    }
}
