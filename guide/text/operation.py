"""Read a hint's operation -- *find* (the class is there and the result lacks it) or *remove*
(the class is not there and the result has it) -- with how sure the reading is.

The reader sees every word typed (:func:`typed_words`: also words GloVe does not know, and the
"?", ",", "+" and "-" that carry meaning), cut into clauses at punctuation. It does not list
sentence frames; it finds *cues* and reads negation by its scope:

* a negation ("not", "n't", "no", "never", "nothing", "no one", "zero", "without") is read by
  the first word it governs, skipping fillers, determiners and place words: a verb of marking
  or seeing ("the coat was not found", "you didn't catch the coat", "nothing marks the coat")
  means *find* -- the result lacks the class -- unless it is an order ("don't mark the coat")
  or about naming ("don't call that a coat"); a verb of missing ("don't forget the coat")
  means *find*; a copula, "there", "exist", "real", "belong", a determiner or a class means
  *remove* ("there isn't any coat", "that is not a coat", "the coat doesn't exist"); a claim
  ("it's not true that", "I wouldn't say") turns what follows around;
* a question whose auxiliary is negated ("isn't that a coat?", "don't you see the coat?") says
  the class IS there: *find*; questions that doubt ("why is there a coat?", "where do you see a
  coat?", "since when", "really?") mean *remove*;
* verbs and words: of missing (missed, overlooked, forgot, ignores, lacks, skipped, left out,
  unmarked/unlabelled -- an un- participle is a negated marking), of removing (remove, get
  rid, take back, undo, revert, ...), un-/de-/dis- verbs of marking ("unmark", "deselect",
  "unlabel": GloVe knows none of them) and of error or imagination ("wrong", "mislabelled",
  "you imagined", "hallucinated", "fake", "stop calling it");
* cues in the clause that names the class count fully, others half ("bags, lower right, you
  missed them").

Confidence: 0.95 when cues point one way; lower when they conflict, when the only cue is a
misspelt word ("remve"), or when an unknown word stands where a verb would ("yeet the coat"):
below :data:`ASK_BELOW` the app asks before acting. No cue at all reads as a statement that
the class is there (*find*, 0.8: "coat on the left").
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Container, Sequence
from dataclasses import dataclass

FIND, REMOVE = "find", "remove"

ASK_BELOW = 0.7
"""Readings less sure than this are asked about before acting (``Conversation``)."""

_TOKEN = re.compile(r"[^\W_]+(?:['\-\u2019][^\W_]+)*['\u2019]?|[.,;:!?+]|(?<![\w])-(?=\s)")
_CLITICS = {"n't": ["not"], "'s": ["is"], "'re": ["are"], "'m": ["am"], "'ve": ["have"], "'ll": ["will"], "'d": ["would"]}
_IRREGULAR = {"can't": ["can", "not"], "won't": ["will", "not"], "cannot": ["can", "not"], "shan't": ["shall", "not"],
              "ain't": ["is", "not"], "nope": ["no"], "nah": ["no"], "let's": ["let", "us"]}
_PREFIXES = ("un", "de", "dis", "re", "mis")
BREAKS = frozenset(".,;:!?")


def typed_words(text: str) -> list[str]:
    """Every word typed, lower case, in order, clitics split ("isn't" -> "is", "not"; "there's" ->
    "there", "is"), with the punctuation that carries meaning ("." "," ";" ":" "!" "?" and a lone
    "+" or "-") as tokens. A hyphenated word is kept whole ("left-hand", "un-highlight",
    "t-shirt"): :func:`parts` splits it where needed. Unknown words are kept: nothing is dropped."""
    text = str(text).lower().replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    out: list[str] = []
    for m in _TOKEN.finditer(text):
        w = m.group(0).strip("'")
        if not w:
            continue
        if w in _IRREGULAR:
            out.extend(_IRREGULAR[w])
        elif w.endswith("n't") and len(w) > 3:
            out.extend([w[:-3], "not"])
        elif "'" in w:
            head, _, tail = w.partition("'")
            out.append(head)
            out.extend(_CLITICS.get("'" + tail, []))
        else:
            out.append(w)
    return out


def parts(word: str) -> list[str]:
    """A hyphenated word's parts ("left-hand" -> left, hand); other words as they are."""
    return [p for p in word.split("-") if p] or [word]


def clauses(words: Sequence[str]) -> list[tuple[list[str], bool]]:
    """Words cut at punctuation: (clause words, ends with "?")."""
    out: list[tuple[list[str], bool]] = []
    cur: list[str] = []
    for w in words:
        if w in BREAKS:
            if cur:
                out.append((cur, w == "?"))
            elif w == "?" and out:
                out[-1] = (out[-1][0], True)
            cur = []
        else:
            cur.append(w)
    if cur:
        out.append((cur, False))
    return out


# ---------------------------------------------------------------- lexicon

# Verbs of marking or seeing; "the coat was not <any of these>" means the result lacks it (find).
_MARK_STEMS = ("mark", "label", "highlight", "segment", "detect", "notic", "includ", "colour", "color", "select",
               "recogni", "identif", "outline", "annotat", "circl", "paint", "shad", "classif", "flag", "captur",
               "spott", "show", "tick", "tagg", "pick", "caught", "catch", "cover", "find", "found", "locat", "count",
               "visib")
_MARK_WORDS = frozenset({"see", "sees", "saw", "seen", "seeing", "spot", "spots", "tag", "tags", "get", "got", "add",
                         "added", "adds", "fill", "filled", "detect", "shade", "shaded", "spot", "notice", "grab",
                         "grabbed"})
# Verbs of naming: negated or stopped, they say the class is not what it was called (remove).
_NAME_STEMS = ("call", "nam", "label", "mark", "tagg", "classif", "find", "show", "detect", "highlight", "segment",
               "select", "colour", "color", "paint", "consider", "treat", "predict")
_MISS_STEMS = ("miss", "overlook", "skip", "forgot", "forget", "ignor", "neglect", "lack", "omit", "fail", "absent",
               "unnotic", "undetect", "unseen", "overs")
_REMOVE_WORDS = frozenset(
    "remove removed removing delete deleted deleting erase erased eliminate discard clear drop hide rid lose cut scrap "
    "wipe ditch toss strip kill purge exclude cancel retract revert reverse undo withdraw reset bin scrub nix axe trash "
    "dismiss nuke zap junk subtract ditch obliterate expunge excise banish dump chuck".split())
_REMOVE_PHRASES = (("take", ("away", "out", "off", "back")), ("throw", ("away", "out")), ("get", ("out",)),
                   ("roll", ("back",)), ("clean", ("up",)), ("pull", ("out", "off")), ("cross", ("out", "off")),
                   ("rule", ("out",)), ("leave", ("out",)), ("left", ("out",)), ("wipe", ("out", "away")))
_WRONG_WORDS = frozenset(
    "wrong wrongly incorrect incorrectly error errors erroneous erroneously mistake mistakes mistaken mistakenly bogus "
    "spurious false falsely fake imaginary illusion figment hallucination hallucinated hallucinating hallucinate "
    "imagined imagining imagine invented invent fabricated phantom nonexistent non-existent unreal fictional fiction "
    "made-up mirage".split())
_WRONG_PHRASES = (("made", "up"), ("dreamed", "up"), ("dreamt", "up"), ("seeing", "things"), ("your", "head"),
                  ("too", "much"), ("too", "many"), ("anything", "but"), ("no", "more"), ("dream", "up"),
                  ("should", "go"), ("must", "go"), ("to", "go"), ("gotta", "go"))
_NEGATIONS = frozenset({"not", "no", "never", "nothing", "none", "nobody", "neither", "nor", "without", "zero",
                        "nowhere"})
_NOUN_BEFORE = frozenset({"a", "an", "the", "this", "that", "my", "your", "its", "whole", "entire", "narrow", "thin",
                          "wide"})
_WH = frozenset({"why", "how", "where", "when", "what"})
_CLAIMS = frozenset({"true", "case", "say", "think", "believe", "reckon", "agree", "claim", "correct", "right"})
_STOPS = frozenset({"stop", "quit", "cease", "enough", "avoid"})
_AUX = frozenset({"is", "are", "was", "were", "do", "does", "did", "can", "could", "would", "will", "should", "has",
                  "have", "had", "shall", "must", "might", "am"})
_COPULA = frozenset({"is", "are", "was", "were", "be", "been", "being", "am", "exist", "exists", "existed", "real",
                     "there", "here", "belong", "belongs", "present", "actually", "really"})
_SUBJECTS = frozenset({"you", "it", "that", "this", "there", "they", "we", "i", "he", "she", "the", "model", "network"})
# Words a negation looks past to find what it governs.
_SKIP = frozenset({"a", "an", "the", "any", "some", "single", "one", "body", "really", "actually", "even", "ever",
                   "just", "quite", "yet", "been", "be", "being", "got", "get", "gotten", "getting", "properly",
                   "correctly", "fully", "at", "all", "so", "very", "much", "worth", "to", "as", "such", "thing",
                   "of", "on", "in", "by", "left", "right", "top", "bottom", "upper", "lower", "middle", "centre",
                   "center", "side", "corner", "edge", "image", "picture", "photo", "part", "half", "hand", "far",
                   "have", "has", "had", "ever", "once", "again", "yet", "please", "you", "it", "they", "we", "i",
                   "that", "this", "these", "those", "there", "here", "area", "region", "bit", "already"})
_DOUBT = (("why", "is", "there"), ("why", "are", "there"), ("why", "would", "there"), ("why", "should", "there"),
          ("why", "does", "it", "say"), ("why", "would", "you"), ("why", "did", "you"),
          ("why", "do", "you"), ("where", "do", "you", "see"), ("where", "did", "you", "see"), ("since", "when"),
          ("how", "is", "that"), ("how", "is", "this"), ("how", "is", "it"), ("how", "can", "there"),
          ("how", "could", "there"), ("do", "you", "really"), ("are", "you", "sure"), ("you", "sure"))
_PRESENCE = frozenset({"there", "see", "saw", "spot", "contains", "contain", "has", "have", "got", "exists", "exist",
                       "sits", "lies", "hiding", "hides", "present", "appears", "shows", "includes", "notice",
                       "should", "deserves", "is", "are"})
_LEXICON_WORDS = frozenset(_REMOVE_WORDS | _WRONG_WORDS | {"missed", "missing", "miss", "overlooked", "forgot",
                                                           "ignored", "skipped", "undo", "unmark", "deselect",
                                                           "unselect", "unlabel", "found", "marked", "labelled"})


def _stem_in(word: str, stems: Sequence[str]) -> bool:
    return any(word.startswith(s) for s in stems)


def is_mark(word: str) -> bool:
    """A verb (any form) of marking or seeing: "labelled", "highlight", "saw", "picked"."""
    return word in _MARK_WORDS or _stem_in(word, _MARK_STEMS)


def _unprefixed(word: str) -> tuple[str, str] | None:
    """("un", "mark") for "unmark" / "un-mark": a prefix and the marking verb after it."""
    for p in _PREFIXES:
        if word.startswith(p + "-") and is_mark(word[len(p) + 1:]):
            return p, word[len(p) + 1:]
        if word.startswith(p) and len(word) > len(p) + 2 and is_mark(word[len(p):]):
            return p, word[len(p):]
    return None


@dataclass(frozen=True)
class OpReading:
    """What :func:`read_operation` found: the operation, how sure (0-1), and why it is unsure."""

    op: str
    confidence: float
    doubt: str = ""  # "conflict" | "unknown word 'yeet'" | "spelling 'remve'" | ""
    cues: tuple[str, ...] = ()


def _clause_cues(words: list[str], question: bool, first: bool, alone: bool) -> list[tuple[str, float, str]]:
    """(op, weight, why) cues of one clause (``question``: it ends with "?"; ``first``: the message's
    first clause; ``alone``: a one-word clause of a longer message, an interjection)."""
    cues: list[tuple[str, float, str]] = []
    n = len(words)
    if alone and words in (["no"], ["not"], ["wrong"], ["false"]):
        # "no, there really is a coat": an answer to the network, not a negation of the class;
        # "coat on the left: no" / "really? no": the class is not there.
        if not first:
            cues.append((REMOVE, 1.0, "no"))
        return cues
    if words in (["-"],) or (words and words[0] == "-"):
        cues.append((REMOVE, 1.0, "-"))
    if words and words[0] == "+":
        cues.append((FIND, 1.0, "+"))
    flip = False
    used: set[int] = set()

    def add(op: str, w: float, why: str) -> None:
        cues.append(((REMOVE if op == FIND else FIND) if flip else op, w, why))

    # rhetorical question: "isn't that a coat", "is that not a coat", "don't you see", "can't you tell"
    rhetorical = -1
    if n >= 3 and words[0] in _AUX and words[1] == "not" and words[2] in _SUBJECTS | {"those", "these", "they"}:
        rhetorical = 1  # "isn't that ...", "don't you see" (but "don't call that a coat" is an order)
    elif n >= 3 and words[0] in _AUX and words[1] in _SUBJECTS and words[2] == "not":
        rhetorical = 2
    elif n >= 2 and words[0] == "surely":
        cues.append((FIND, 1.0, "surely"))
    if rhetorical >= 0:
        cues.append((FIND, 1.5, "isn't that"))
        used.add(rhetorical)
    for pattern in _DOUBT:
        k = len(pattern)
        if any(tuple(words[i:i + k]) == pattern for i in range(n - k + 1)):
            cues.append((REMOVE, 1.5, " ".join(pattern)))
    if n >= 3 and words[0] in _AUX and words[1] in _SUBJECTS and words[2] == "really":
        cues.append((REMOVE, 1.5, "is that really"))  # doubt: "is that really a coat?"
    if question and n == 1 and words[0] in ("really", "seriously", "what"):
        cues.append((REMOVE, 1.0, "really?"))
    if n >= 3 and words[0] == "what" and words[1] in ("is", "are") and "doing" in words:
        cues.append((REMOVE, 1.5, "what is it doing"))
    if ("where", "is") == tuple(words[:2]) or ("where", "are") == tuple(words[:2]) or ("what", "about") == tuple(words[:2]):
        cues.append((FIND, 0.5, "where is"))
    for i, w in enumerate(words):
        nxt = words[i + 1] if i + 1 < n else ""
        prev = words[i - 1] if i else ""
        if i in used:
            continue
        if w in _NEGATIONS:
            if w == "no" and nxt in ("one", "body") and i + 2 < n and is_mark(words[i + 2]):
                add(FIND, 1.0, "no one marked")
                continue
            if w == "not" and nxt == "everything":
                continue  # "not everything is background": about other pixels
            if w == "never" and nxt == "mind":
                continue
            j = i + 1
            while j < n and words[j] in _SKIP and words[j] not in ("there", "here"):
                j += 1
            if j >= n:
                skipped = set(words[i + 1:])
                if (w == "no" and i > 0) or w in ("none", "nothing", "nowhere") or skipped & {"in", "on", "at"}:
                    # "... : no", "but there is none", "the coat is not in the image"
                    add(REMOVE, 1.5, f"{w} (in the image)")
                continue  # "that you don't": nothing governed
            g = words[j]
            inverted = i >= 1 and words[i - 1] in _AUX and (i == 1 or words[i - 2] in _WH)
            if inverted and words[i + 1] in ("the", "a", "an", "this", "that", "my", "any"):
                # "why isn't the coat labelled?": the negation reaches the participle after the subject
                later = next((x for x in words[j + 1:] if is_mark(x)), None)
                if later is not None:
                    add(FIND, 1.5, f"not ... {later}")
                    continue
            if g in ("there", "here") and j + 1 >= n and prev not in ("should", "must", "shall", "ought", "can", "could"):
                # "the coat isn't there": not in the image (remove) or not in the result (find)?
                add(FIND, 1.0, f"{w} {g} (result)")
                add(REMOVE, 1.0, f"{w} {g} (image)")
                continue
            if g in _CLAIMS:
                flip = not flip
                continue
            if _stem_in(g, _MISS_STEMS):
                add(FIND, 1.0, f"not {g}")
                used.add(j)
                continue
            if g in _REMOVE_WORDS:
                add(FIND, 0.5, f"not {g}")
                used.add(j)
                continue
            if _stem_in(g, ("call", "nam", "consider", "treat")):
                add(REMOVE, 1.5, f"not {g}")
                continue
            if is_mark(g):
                order = (i == 0 or (i == 1 and words[0] in ("do", "please"))
                         or (i >= 1 and words[i - 1] == "do" and (i == 1 or words[i - 2] == "please")))
                subject_i = i >= 2 and words[i - 2] in ("i", "we") and words[i - 1] in _AUX
                if order and w in ("not", "never") and (j == i + 1) and prev in ("", "do", "please"):
                    add(REMOVE, 1.0, f"don't {g}")
                elif subject_i and g in ("see", "saw", "spot", "find", "notice"):
                    add(REMOVE, 1.0, f"i don't {g}")
                else:
                    add(FIND, 1.5, f"not {g}")
                used.add(j)
                continue
            add(REMOVE, 1.5, f"{w} {g}")
            continue
        if w in _STOPS and nxt and _stem_in(nxt, _NAME_STEMS):
            add(REMOVE, 1.5, f"{w} {nxt}")
            used.add(i + 1)
            continue
        un = _unprefixed(w)
        if un is not None:
            prefix, verb = un
            if prefix == "re":
                add(FIND, 1.0, w)
            elif prefix == "mis":
                add(REMOVE, 1.0, w)
            elif w.endswith("ed") and prefix == "un":
                add(FIND, 1.0, w)  # "the coat is unmarked", "went unnoticed": not marked
            else:
                add(REMOVE, 1.5, w)
            continue
        if w.startswith("mis") and len(w) > 5 and _stem_in(w[3:].lstrip("-"), ("label", "classif", "identif", "read", "tak")):
            add(REMOVE, 1.0, w)
            continue
        if _stem_in(w, _MISS_STEMS) and not (w.startswith("fail") and nxt == "safe"):
            add(FIND, 1.0, w)
            continue
        matched = False
        for head, tails in _REMOVE_PHRASES:
            if w == head and any(t in words[i + 1:i + 6] for t in tails):
                add(FIND if head in ("leave", "left") else REMOVE, 1.0, f"{head} ... {'/'.join(tails)}")
                matched = True
                break
        if matched:
            continue
        if w in _REMOVE_WORDS and not ((prev in _NOUN_BEFORE or prev.endswith("most"))
                                       and nxt not in ("the", "a", "an", "this", "that", "these", "those", "all", "any")):
            add(REMOVE, 1.0, w)  # a verb; "the top-most strip", "a clear patch": a noun or adjective
            continue
        if w in _WRONG_WORDS:
            add(REMOVE, 1.0, w)
            continue
        if any(w == a and nxt == b for a, b in _WRONG_PHRASES):
            add(REMOVE, 1.0, f"{w} {nxt}")
            continue
        if w in ("shouldn't",):
            add(REMOVE, 1.0, w)
            continue
        if is_mark(w) and not (prev in ("be", "is", "are", "was", "were") and w in ("found", "seen", "shown")):
            add(FIND, 0.5, w)
            continue
        if w in _PRESENCE:
            add(FIND, 0.25, w)
    return cues


def read_operation(words: Sequence[str], class_at: Sequence[int] = (), vocab: Container[str] | None = None,
                   class_words: Container[str] = ()) -> OpReading:
    """The operation of a hint's typed words (:func:`typed_words`) and how sure.

    ``class_at``: indices in ``words`` of the class name's words (from the class reader): their
    clause counts fully, others half, and an unknown word just before the class is where an
    unknown verb would stand. ``vocab`` (GloVe): what counts as unknown; ``class_words``: words
    that are part of a class name or its typo (never verbs)."""
    words = [w for w in words]
    cut = clauses(words)
    spans: list[tuple[int, int]] = []
    i = 0
    for w_list, _ in cut:
        # the clause's start in ``words`` (punctuation tokens skipped)
        while i < len(words) and words[i] in BREAKS:
            i += 1
        spans.append((i, i + len(w_list)))
        i += len(w_list)
    class_set = set(class_at)
    found: list[tuple[str, float, str]] = []
    for c, ((cw, question), (a, b)) in enumerate(zip(cut, spans, strict=True)):
        weight = 1.0 if (not class_set or any(a <= k < b for k in class_set)) else 0.5
        alone = len(cut) > 1 and len(cw) == 1
        found.extend((op, w * weight, reason) for op, w, reason in _clause_cues(cw, question, c == 0, alone))
    # Weak cues ("there is", "has", "shows") only decide when nothing stronger was said:
    # "the photo has no coat" is a negation, not a conflict.
    if any(w >= 1.0 for _, w, _ in found):
        found = [cue for cue in found if cue[1] > 0.5]
    find_score = sum(w for op, w, _ in found if op == FIND)
    remove_score = sum(w for op, w, _ in found if op == REMOVE)
    why = [f"{op}:{reason}" for op, _, reason in found]
    doubt = ""
    unknown = [w for w in words if w not in BREAKS and w not in ("+", "-") and vocab is not None and w not in vocab
               and all(p not in vocab for p in parts(w)) and w not in class_words]
    spelt = ""
    if vocab is not None and find_score == remove_score == 0:
        # an unknown word that is a misspelt cue word ("remve", "misssed")
        for w in unknown:
            close = difflib.get_close_matches(w, sorted(_LEXICON_WORDS), n=1, cutoff=0.8)
            if close:
                spelt = w
                sub = _clause_cues([close[0], "it"], False, True, False)
                for op, wt, reason in sub:
                    if op == FIND:
                        find_score += wt
                    else:
                        remove_score += wt
                why.append(f"spelling:{w}->{close[0]}")
                break
    total = find_score + remove_score
    if total == 0:
        op, confidence = FIND, 0.8
    else:
        op = REMOVE if remove_score > find_score else FIND
        margin = abs(find_score - remove_score) / total
        confidence = 0.95 if margin == 1.0 else 0.5 + 0.45 * margin
        if confidence < ASK_BELOW:
            doubt = "conflict"
    if spelt:
        confidence, doubt = min(confidence, 0.6), f"spelling \u2018{spelt}\u2019"
    elif unknown and (total == 0 or max(find_score, remove_score) < 1.0):
        before_class = min(class_set) if class_set else len(words)
        verbish = [w for w in words[:before_class] if w in unknown]
        if verbish:
            confidence, doubt = min(confidence, 0.5), f"unknown word \u2018{verbish[0]}\u2019"
    return OpReading(op, round(float(confidence), 3), doubt, tuple(why))
