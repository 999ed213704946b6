"""The hit decision: guards, features and the shipped verifier on hand-written examples."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from conftest import dev_data

from vectorcache.decision import (
    RESPELT_MIN_COSINE,
    Candidate,
    DecisionPolicy,
    StaticThresholdDecider,
    VerifiedDecider,
    build_decider,
)
from vectorcache.decision.analysis import analyse
from vectorcache.decision.features import FEATURE_NAMES, pair_features
from vectorcache.decision.guards import guard_flags, same_up_to_symmetric_swap
from vectorcache.decision.lexicon import antonyms, lemmas, same_sense
from vectorcache.decision.reading import without_courtesy
from vectorcache.decision.spelling import slip_of, zipf
from vectorcache.decision.verifier import load_verifier
from vectorcache.embeddings import Encoder


def flags(a: str, b: str) -> dict[str, bool]:
    return guard_flags(analyse(a), analyse(b))


def decide(query: str, stored: str, cosine: float, **policy: object) -> object:
    return VerifiedDecider().decide(
        query, [Candidate("e1", cosine, stored)], DecisionPolicy(**policy))  # type: ignore[arg-type]


# ---------------------------------------------------------------- guards


def test_negation_guard_fires_on_one_sided_negation() -> None:
    assert flags("Should I water cactus plants daily?", "Should I not water cactus plants daily?")[
        "negation"]
    assert flags("Why doesn't my kettle boil?", "Why does my kettle boil?")["negation"]
    assert flags("Which medications lack side effects?", "Which medications have side effects?")[
        "negation"]
    assert not flags("Why did my build fail?", "Why did my build not succeed?")["negation"]
    assert not flags("Why doesn't my kettle boil?", "Why does my kettle not boil?")["negation"]
    # contractions typed without the apostrophe negate too (they were read as plain words)
    assert flags("Why dont cats like water?", "Why do cats like water?")["negation"]
    assert flags("Isnt it safe to eat raw mushrooms?", "Is it safe to eat raw mushrooms?")[
        "negation"]
    assert not flags("Why dont cats like water?", "Why don't cats like water?")["negation"]


def test_guards_read_other_languages_and_scripts() -> None:
    # negation words of other languages count by presence ("ne ... pas", "no ... nada")
    assert flags("Ist es sicher, Pilze roh zu essen?", "Ist es nicht sicher, Pilze roh zu essen?")[
        "negation"]
    assert flags("Puis-je manger ça ?", "Je ne peux pas manger ça ?")["negation"]
    assert flags("我可以吃这个吗？", "我不可以吃这个吗？")["negation"]
    assert not flags("No sé nada de esto", "No sé nada sobre esto")["negation"]
    assert not flags("Best non-profit jobs", "Best non-profit careers")["negation"]
    # words of any script are words; Chinese and Japanese are read a character at a time
    assert flags("Какая погода в Москве сегодня?", "Какая погода в Киеве сегодня?")[
        "substitution"]
    assert flags("北京今天的天气怎么样？", "北京明天的天气怎么样？")["substitution"]
    assert not any(flags("Wie ist das Wetter heute in Berlin?",
                         "Wie ist das Wetter heute in Berlin").values())


def test_operators_and_what_the_model_cannot_see() -> None:
    assert flags("SELECT * FROM users WHERE age > 30", "SELECT * FROM users WHERE age < 30")[
        "operator"]
    assert flags("What is 2+2?", "What is 2*2?")["operator"]
    assert not flags("What does x += 1 do?", "What does 'x += 1' do in Python?")["operator"]
    assert not flags("Is this well-known?", "Is this well known?")["operator"]
    assert flags("How much is $100 in yen?", "How much is €100 in yen?")["operator"]
    assert flags("Is a 5% raise good?", "Is a 5 raise good?")["operator"]
    # emoji (and many CJK characters) are one [UNK] to the model: 🍆 and 🍑 embed the same
    assert flags("What does 🍆 mean in texting?", "What does 🍑 mean in texting?")["unseen"]
    assert not flags("What does 🍆 mean?", "What does 🍆 mean in texting?")["unseen"]
    d = decide("What does 🍑 mean in texting?", "What does 🍆 mean in texting?", 1.0)
    assert not d.hit and "unseen" in d.reason  # type: ignore[attr-defined]


def test_number_and_date_guards() -> None:
    assert flags("Best laptops under $800", "Best laptops under $1,200")["number"]
    assert flags("Weather in Oslo in March", "Weather in Oslo in October")["date"]
    assert not flags("Is 7 a prime number?", "Is seven a prime number?")["number"]
    # a figure on one side only makes a more specific question
    assert flags("How do I lose 10 kg?", "How do I lose weight?")["number_added"]
    assert not flags("How do I lose 10 kg?", "How can I lose 10 kg?")["number_added"]
    # the same numbers in another order
    assert flags("Is 3 bigger than 5?", "Is 5 bigger than 3?")["number"]
    assert flags("Convert 10 feet to 3 meters", "Convert 3 feet to 10 meters")["number"]


def test_entity_order_swap_is_seen_even_with_the_same_words() -> None:
    f = flags("Train times from Leeds to York", "Train times from York to Leeds")
    assert f["entity_order"]
    a, b = analyse("Train times from Leeds to York"), analyse("Train times from York to Leeds")
    x = dict(zip(FEATURE_NAMES, pair_features(0.98, a, b), strict=True))
    assert x["token_jaccard"] == 1.0 and x["bigram_jaccard"] < 0.5


def test_a_symmetric_comparison_may_swap_its_sides() -> None:
    a = analyse("What is the difference between a list and a tuple in Python?")
    b = analyse("What is the difference between a tuple and a list in Python?")
    assert same_up_to_symmetric_swap(a, b)
    assert not any(guard_flags(a, b).values())
    assert pair_features(0.99, a, b) == pair_features(0.99, a, a)
    assert same_up_to_symmetric_swap(analyse("Compare TCP vs UDP"), analyse("Compare UDP vs TCP"))
    # no comparison: the order carries meaning
    f = flags("Train times from Leeds and York", "Train times from York and Leeds")
    assert f["entity_order"]
    # a comparison, but not of the same two sides swapped whole
    assert not same_up_to_symmetric_swap(
        analyse("Difference between rent in 1990 and wages in 2000"),
        analyse("Difference between rent in 2000 and wages in 1990"))
    assert flags("Difference between rent in 1990 and wages in 2000",
                 "Difference between rent in 2000 and wages in 1990")["number"]


def test_a_different_instruction_on_the_answers_form() -> None:
    for extra in ("in one sentence", "as a poem", "in JSON", "formally", "for beginners",
                  "in French", "step by step", "in bullet points"):
        assert flags("Summarize the plot of Hamlet", f"Summarize the plot of Hamlet {extra}")[
            "constraint"], extra
    assert flags("Explain recursion in Python", "Explain recursion in Java")["constraint"]
    assert not flags("Summarize Hamlet in one sentence", "Give a one-sentence summary of Hamlet")[
        "constraint"]
    # a topic is not an instruction
    assert not flags("How do I improve my English writing skills?",
                     "How can I improve my writing skills in English?")["constraint"]
    assert not flags("How do I write a good cover letter?", "Tips for writing a cover letter")[
        "constraint"]


def test_a_question_narrowed_by_a_trailing_phrase() -> None:
    for short, narrowed in (
            ("What are the best dog breeds?", "What are the best dog breeds for a small flat?"),
            ("How do I install Python?", "How do I install Python on Windows?"),
            ("How do I cook rice?", "How do I cook rice without a rice cooker?"),
            ("Who are the top app developers?", "Who are the top app developers in Boston?")):
        assert flags(short, narrowed)["qualifier"] and flags(narrowed, short)["qualifier"]
    # a phrase of manner narrows nothing; nor do words in the middle
    for short, longer in (
            ("How can I improve my writing?", "How can I improve my writing in an effective way?"),
            ("How do I learn to code?", "How do I learn to code by myself?"),
            ("How can I learn Spanish?", "How can I learn Spanish for free?"),
            ("How do I cook rice?", "How do I quickly cook rice?")):
        assert not flags(short, longer)["qualifier"], longer


def test_a_swapped_word_vetoes_unless_it_is_another_form_or_a_synonym() -> None:
    # another thing of the same kind: a different question
    for a, b in [("How do I reset my router?", "How do I reset my modem?"),
                 ("What is the normal systolic blood pressure?",
                  "What is the normal diastolic blood pressure?"),
                 ("Print the total of the column", "Print the average of the column"),
                 ("What is libel in defamation law?", "What is slander in defamation law?"),
                 ("Traffic convictions in Ohio", "Traffic convictions in California")]:
        assert flags(a, b)["substitution"], (a, b)
    # the same word inflected, or a synonym in its commonest senses (WordNet): not a swap
    for a, b in [("How is a septic tank emptied?", "How do you empty a septic tank?"),
                 ("How do underwater tunnels get built?",
                  "How are underwater tunnels constructed?"),
                 ("How can I read someone's mind?", "How can I read someones mind?"),
                 ("Which is easier, PTE or IELTS?", "Which is easy, PTE or IELTS?")]:
        assert not flags(a, b)["substitution"], (a, b)


def test_a_slip_of_the_fingers_is_not_a_name_made_from_a_word() -> None:
    for typed, meant in (("captial", "capital"), ("recieve", "receive"), ("englsh", "english"),
                         ("sttatus", "status"), ("tasls", "tasks"), ("lern", "learn"),
                         ("inprove", "improve"), ("wintr", "winter")):
        assert slip_of(typed, meant), (typed, meant)
    for typed, meant in (("nuxt", "next"), ("cuda", "cuba"), ("figma", "sigma"),
                         ("canva", "canvas"), ("axios", "axis"), ("flink", "link"),
                         ("redis", "reds"), ("lyft", "lift"), ("capital", "capital"),
                         ("seperate", "separate"), ("router", "modem")):
        assert not slip_of(typed, meant), (typed, meant)


@pytest.mark.parametrize(("a", "b"), [
    ("What is the capital of France?", "What is the captial of France?"),
    ("How do I receive money on PayPal?", "How do I recieve money on PayPal?"),
    ("Which is the best free antivirus?", "Whcih is the best free antivirus?"),
    ("What are the exact tasks of an IAS officer?", "What are the exact tasls of an IAS officer?"),
])
def test_a_misspelt_word_is_read_as_the_word(a: str, b: str) -> None:
    assert not any(flags(a, b).values()), flags(a, b)
    assert not any(flags(b, a).values())
    d = decide(b, a, 0.9)
    assert d.hit and "misspellings" in d.reason, d.reason  # type: ignore[attr-defined]
    assert not decide(b, a, 0.85).hit  # still under the floor


@pytest.mark.parametrize(("a", "b"), [
    ("How can I lose weight fast?", "How can I loose weight fast?"),  # a word for a word
    ("Is a grinder safe?", "Is a grindr safe?"),  # a brand: common in its own right
    ("How do I get a lift to the airport?", "How do I get a lyft to the airport?"),
    ("Who founded Willow?", "Who founded Zillow?"),  # a name
    ("What is the capital of Peru?", "What is the capitol of Peru?"),
    ("What is a good diet for a horse?", "What is a good diet for a house?"),
])
def test_a_real_word_or_a_name_is_not_read_as_a_slip(a: str, b: str) -> None:
    assert flags(a, b)["substitution"] or flags(a, b)["entity"], flags(a, b)


def test_a_slip_is_rare_next_to_its_word() -> None:
    assert zipf("receive") - zipf("recieve") >= 1.5
    assert zipf("lift") - zipf("lyft") < 1.5 and zipf("tumbler") < zipf("tumblr")
    assert zipf("qxzvbnwq") == 2.0  # unknown: as common as the table's floor, the most it can be


def test_a_mistyped_repeat_is_served(encoder: Encoder) -> None:
    decider = VerifiedDecider()
    stored = "How do I receive money on PayPal from a friend?"
    for asked in ("How do I recieve money on PayPal from a friend?",
                  "How do I receive money on PayPal from a freind?"):
        a, b = encoder.encode([asked, stored])
        d = decider.decide(asked, [Candidate("a", float(a @ b), stored)], DecisionPolicy())
        assert d.hit, d.reason  # the substitution guard vetoed both before


def test_lexicon_knows_forms_and_synonyms_but_not_siblings() -> None:
    assert lemmas("emptied") == {"empty"} and "build" in lemmas("built")
    assert lemmas("world's") == {"world"} and lemmas("qwzx") == frozenset()
    assert same_sense("constructed", "built") and same_sense("institutes", "institute")
    assert not same_sense("router", "modem") and not same_sense("gold", "silver")
    assert not same_sense("average", "total")  # hypernyms and siblings are not synonyms
    assert not same_sense("qwzx", "qwzx")  # unknown words are never vouched for


def test_antonyms_and_negating_prefixes() -> None:
    assert flags("How to enable dark mode in my editor?", "How to disable dark mode in my editor?")[
        "antonym"]
    assert flags("Is this mushroom safe to eat?", "Is this mushroom unsafe to eat?")["antonym"]
    # opposites among function words count too
    assert flags("How do I zoom in on a Mac?", "How do I zoom out on a Mac?")["antonym"]
    assert flags("What if blood pressure is over 140?", "What if blood pressure is under 140?")[
        "antonym"]
    assert flags("Why do many people hate Mondays?", "Why do few people hate Mondays?")[
        "antonym"]
    assert not flags("How do I log in to my account?", "How can I log in to my account?")[
        "antonym"]
    assert flags("What's your favorite color?", "What's my favorite color?")["antonym"]
    assert flags("What did he say about the budget?", "What did she say about the budget?")[
        "antonym"]


def test_wordnet_antonyms_are_opposites_too() -> None:
    assert lemmas("rose") >= {"rise"} and "fall" in antonyms("rose")
    assert flags("Why did bitcoin prices rise today?", "Why did bitcoin prices fall today?")[
        "antonym"]
    assert flags("Is a friendly takeover good for shareholders?",
                 "Is a hostile takeover good for shareholders?")["antonym"]
    # both words on both sides, or neither: no opposite on one side only
    assert not flags("What are the pros and cons of rising and falling rates?",
                     "What are the pros and cons of falling and rising rates?")["antonym"]


def test_questions_asking_for_different_kinds_of_answer() -> None:
    assert flags("When was Google founded?", "Where was Google founded?")["asks"]
    assert flags("Who invented the telephone?", "When was the telephone invented?")["asks"]
    assert flags("How many moons does Mars have?", "Why does Mars have moons?")["asks"]
    # "what" / "how" ask for anything: a paraphrase may use either
    assert not flags("How can I learn Python?", "What is the best way to learn Python?")["asks"]
    assert not flags("When did the war end?", "In what year did the war end?")["asks"]


def test_a_question_about_another_time() -> None:
    assert flags("Who is the CEO of Apple?", "Who was the CEO of Apple?")["tense"]
    assert flags("Is Pluto a planet?", "Was Pluto a planet?")["tense"]
    assert flags("When did the store open?", "When does the store open?")["tense"]
    # present and future are asked alike, and an auxiliary inside the sentence is not read
    assert not flags("When is the new iPhone coming out?",
                     "When will the new iPhone come out?")["tense"]
    assert not flags("How do you fix an iPod that won't turn on?",
                     "How do I fix an iPod that didn't turn on?")["tense"]


def test_a_yes_no_question_asking_whether_one_may_must_or_should() -> None:
    assert flags("Must I pay taxes on gifts?", "May I pay taxes on gifts?")["modality"]
    assert flags("Can I eat raw eggs?", "Should I eat raw eggs?")["modality"]
    assert not flags("Can I eat raw eggs?", "Could I eat raw eggs?")["modality"]
    assert not flags("How can I lose weight?", "How should I lose weight?")["modality"]


def test_paraphrase_fires_no_guard() -> None:
    f = flags("How do I reset my router password?", "How can I reset the password of my router?")
    assert not any(f.values())


def test_features_match_the_shipped_model() -> None:
    v = load_verifier()
    assert len(pair_features(0.9, analyse("a b"), analyse("a c"))) == len(FEATURE_NAMES)
    assert v.operating_points and 0 < v.default_target_error_rate < 0.1


# ---------------------------------------------------------------- decisions


def test_negation_is_rejected_at_a_high_cosine() -> None:
    d = decide("Should I not water cactus plants daily?", "Should I water cactus plants daily?",
               0.97)
    assert not d.hit and "negation" in d.reason  # type: ignore[attr-defined]


def test_number_swap_is_rejected() -> None:
    d = decide("Dose of ibuprofen for a 20 kg child", "Dose of ibuprofen for a 40 kg child", 0.98)
    assert not d.hit  # type: ignore[attr-defined]


def test_a_figure_on_one_side_only_is_rejected() -> None:
    d = decide("What are the best 3 star hotels in Bhopal city?",
               "What are the best star hotels in Bhopal city?", 0.97)
    assert not d.hit and "number_added" in d.reason  # type: ignore[attr-defined]


def test_near_identical_paraphrase_is_accepted_and_explained() -> None:
    d = decide("How can I reset my router password?", "How do I reset my router password?", 0.985)
    assert d.hit  # type: ignore[attr-defined]
    assert "verifier p=" in d.reason and "guards passed" in d.reason  # type: ignore[attr-defined]
    assert d.details["mode"] == "verified"  # type: ignore[attr-defined]


def test_same_text_after_normalisation_hits() -> None:
    d = decide("how to boil an egg", "How to boil an egg?", 0.99)
    assert d.hit and d.score == 1.0  # type: ignore[attr-defined]


@pytest.mark.parametrize(("text", "core"), [
    ("Hi, how do I cook rice?", "how do I cook rice?"),
    ("Please explain TCP", "explain TCP"),
    ("What is TCP? Thanks in advance!", "What is TCP?"),
    ("Hello world in C", "Hello world in C"),  # no punctuation: not a greeting
    ("How do I say thanks?", "How do I say thanks?"),  # the question itself
    ("Thanks!", "Thanks!"),  # nothing would be left
    ("Hi, can you tell me what X is?", "what X is?"),  # the request's framing
    ("Question: what is X?", "what is X?"),
    ("Tell me a joke", "Tell me a joke"),  # "tell me" goes only before a question word
    ("Do you know the capital of France?", "Do you know the capital of France?"),
])
def test_courtesy_around_a_request_is_not_read(text: str, core: str) -> None:
    assert without_courtesy(text) == core


@pytest.mark.parametrize(("a", "b", "differs"), [
    (r"Explain the regex \d+?", r"Explain the regex \d+", True),  # lazy, not a question mark
    ("What is print(5 // 2)?", "What is print(5 / 2)?", True),
    ("What does arr[1:] return?", "What does arr[:1] return?", True),
    ("What does arr[1:] return in Python?", "In Python, what is returned by arr[1:]", False),
    ("How to use std::vector in C++", "How do I use std::vector in C++?", False),
    ("What is 2+2?", "What is 2 + 2?", False),
    ("Use the `map()` method", "The map() method can be used", False),  # prose about code
    ("Best TV under 500", "Best TV under $500", False),  # money is the number guards' business
])
def test_the_code_guard_reads_symbols_not_punctuation(a: str, b: str, differs: bool) -> None:
    assert guard_flags(analyse(a), analyse(b))["code"] is differs


def test_a_greeting_or_thanks_does_not_cost_the_hit(encoder: Encoder) -> None:
    stored = "How can I enhance my English writing skills?"
    decider = VerifiedDecider()
    for asked in ("Hi, how can I enhance my English writing skills?",
                  "How can I enhance my English writing skills? Thanks!"):
        a, b = encoder.encode([asked, stored])
        d = decider.decide(asked, [Candidate("a", float(a @ b), stored)], DecisionPolicy())
        assert d.hit, d.reason  # both were misses at p 0.81-0.82 before


def test_threshold_is_a_floor_that_only_tightens() -> None:
    d = decide("How can I reset my router password?", "How do I reset my router password?",
               0.985, threshold=0.99)
    assert not d.hit and "floor" in d.reason  # type: ignore[attr-defined]


def test_target_error_rate_picks_an_operating_point() -> None:
    v = load_verifier()
    strict, loose = v.operating_point(0.001), v.operating_point(0.5)
    assert strict.target_error_rate <= loose.target_error_rate
    assert v.operating_point(None) == v.operating_point(v.default_target_error_rate)


def test_best_candidate_is_chosen_and_empty_partition_misses() -> None:
    decider = VerifiedDecider()
    assert not decider.decide("hello there", [], DecisionPolicy()).hit
    cands = [Candidate("wrong", 0.97, "How do I reset my modem password?"),
             Candidate("right", 0.985, "How do I reset my router password?")]
    d = decider.decide("How can I reset my router password?", cands, DecisionPolicy())
    assert d.hit and d.candidate is not None and d.candidate.entry_id == "right"


def test_build_decider_modes() -> None:
    assert isinstance(build_decider(), VerifiedDecider)
    assert isinstance(build_decider("verified"), VerifiedDecider)
    assert isinstance(build_decider("static"), StaticThresholdDecider)
    d = build_decider("static").decide(
        "Is it safe?", [Candidate("e", 0.9, "Is it not safe?")], DecisionPolicy(threshold=0.85))
    assert d.hit  # the peers' rule has no guards: the reason this module exists


@pytest.mark.parametrize("n", [8])
def test_decision_is_cheap(n: int) -> None:
    decider = VerifiedDecider()
    cands = [Candidate(f"e{i}", 0.95 - i * 0.001, f"How do I reset my router password {i}?")
             for i in range(n)]
    decider.decide("How can I reset my router password?", cands, DecisionPolicy())
    t = time.perf_counter()
    for _ in range(50):
        decider.decide("How can I reset my router password?", cands, DecisionPolicy())
    assert (time.perf_counter() - t) / 50 < 0.01  # ~1 ms on a 2-core box; generous bound


# ---------------------------------------------------------------- hand-written probes

def test_hand_written_probes_with_the_real_model(encoder: Encoder) -> None:
    """``data/decision_probes.jsonl``: pairs written by hand, outside the dev data, scored with
    the real embedding at the default operating point. Every ``same: false`` pair (a swapped
    operator, emoji, unit, direction, opposite, negation in another language...) must miss;
    and the guards must not have become so eager that most true paraphrases miss too."""
    rows = [json.loads(line) for line in
            (Path(__file__).parent / "data" / "decision_probes.jsonl").read_text("utf-8")
            .splitlines() if line.strip()]
    vectors = encoder.encode([t for r in rows for t in (r["a"], r["b"])])
    decider, served = VerifiedDecider(), []
    for k, r in enumerate(rows):
        cosine = float(vectors[2 * k] @ vectors[2 * k + 1])
        d = decider.decide(r["b"], [Candidate("a", cosine, r["a"])], DecisionPolicy())
        respelt = None if d.hit else decider.respelt(r["b"])
        if respelt is not None:  # the server's second look, the slips read as words
            again = encoder.encode([respelt])[0]
            if float(again @ vectors[2 * k + 1]) >= RESPELT_MIN_COSINE:
                cosine = float(again @ vectors[2 * k])
                d = decider.decide(r["b"], [Candidate("a", cosine, r["a"])], DecisionPolicy())
        served.append((r, d.hit))
        # a stricter target than the default is stricter on these too
        strict = decider.decide(r["b"], [Candidate("a", cosine, r["a"])],
                                DecisionPolicy(target_error_rate=0.005))
        assert not (strict.hit and not r["same"]), (r["a"], r["b"])
    wrong = [(r["a"], r["b"]) for r, hit in served if hit and not r["same"]]
    assert not wrong
    same = [hit for r, hit in served if r["same"]]
    assert sum(same) >= len(same) // 3, f"only {sum(same)} of {len(same)} paraphrases hit"


def test_a_stricter_target_serves_fewer_adversarial_negatives(encoder: Encoder) -> None:
    """The dev data's adversarial negatives (PAWS word swaps; blindspots negations, entity and
    number swaps): the 0.5 % point must serve no more of them than the default 1 % point. (A
    table picked on the QQP stream alone once had its 0.5 % point at floor 0.96, cutoff 0.5,
    serving 8 % of PAWS's negatives against the default's 0.4 %.)"""
    rows = [r for r in map(json.loads, dev_data("pairs_dev.jsonl").read_text("utf-8")
                           .splitlines())
            if r["source"] in ("paws_wiki", "blindspots300") and not r["same"]]
    vectors = encoder.encode([t for r in rows for t in (r["a"], r["b"])])
    decider = VerifiedDecider()

    def served(target: float | None) -> int:
        policy = DecisionPolicy(target_error_rate=target)
        return sum(decider.decide(r["b"], [Candidate("a",
                                                     float(vectors[2 * k] @ vectors[2 * k + 1]),
                                                     r["a"])], policy).hit
                   for k, r in enumerate(rows))
    assert served(0.005) <= served(None) <= 0.05 * len(rows)


def test_operating_point_respects_the_projects_threshold() -> None:
    """A point's floor is never under the project's similarity_threshold, so its CV figures
    are what the project gets; a lower threshold may reach a looser, measured point."""
    v = load_verifier()
    for target in (0.005, 0.01, 0.02, 0.03, 0.05):
        for threshold in (0.8, 0.85, 0.9):
            assert v.operating_point(target, threshold).cosine_floor >= threshold
        low, default = v.operating_point(target, 0.8), v.operating_point(target, 0.85)
        assert low.cv_recall >= default.cv_recall
    above = v.operating_point(0.01, 0.99)  # nothing measured there: the strictest cutoff
    assert above.cutoff == max(p.cutoff for p in v.operating_points
                               if p.target_error_rate == above.target_error_rate)
    policy = DecisionPolicy(threshold=0.85, target_error_rate=0.05)
    assert VerifiedDecider().floor(policy) >= 0.85
