"""The word lists the pair analysis reads: negations (English and about fifteen other
languages), contractions, stopwords, number words, month and day names, and opposites.

Plain data, no logic: ``analysis.py`` and ``guards.py`` say how each list is used.
"""

from __future__ import annotations

__all__ = ["ANTONYM_PAIRS", "CONTRACTIONS", "FOREIGN_NEGATIONS", "FOREIGN_NEGATION_MARKS", "MONTHS",
           "NEGATIONS", "NUMBER_WORDS", "STOPWORDS"]

CONTRACTIONS = {
    "can't": ("can", "not"), "cannot": ("can", "not"), "won't": ("will", "not"),
    "shan't": ("shall", "not"), "ain't": ("is", "not"),
    # typed without the apostrophe, as people do: "Why dont cats like water?" is a negation
    "cant": ("can", "not"), "wont": ("will", "not"), "shant": ("shall", "not"),
    "aint": ("is", "not"),
    **{verb + "nt": (verb, "not") for verb in (
        "do", "does", "did", "is", "are", "was", "were", "has", "have", "had", "could",
        "would", "should", "must", "need", "might")},
}

NEGATIONS = frozenset(
    ["not", "no", "never", "none", "nobody", "nothing", "nowhere", "neither", "nor", "without",
     "cannot",
     # verbs and adverbs that negate what follows: "lack side effects", "refuse to start"
     "lack", "lacks", "lacking", "fail", "fails", "failed", "failing", "refuse", "refuses",
     "refused", "hardly", "barely", "scarcely"]
)

#: negation in other languages: counted as present or not (several languages stack negations:
#: "no ... nada", "ne ... pas"), never by parity. Words, then characters and endings for
#: scripts without spaces (Chinese, Japanese, Korean).
FOREIGN_NEGATIONS = frozenset([
    "nicht", "kein", "keine", "keinen", "keinem", "keiner", "keines", "nie", "niemals", "nichts",
    "niemand", "ohne",  # de
    "pas", "jamais", "rien", "aucun", "aucune", "sans",  # fr
    "nunca", "jamás", "ningún", "ninguno", "ninguna", "nada", "nadie", "sin", "tampoco",  # es
    "non", "mai", "nessuno", "nessuna", "niente", "nulla", "senza",  # it
    "não", "nao", "nenhum", "nenhuma", "ninguém", "sem",  # pt
    "niet", "geen", "nooit", "niets", "zonder",  # nl
    "inte", "ikke", "ej", "aldrig", "aldri", "utan", "uden", "uten",  # sv / da / no
    "bez", "nigdy",  # pl ("nie" above)
    "не", "нет", "никогда", "ничего", "никто", "без",  # ru
    "δεν", "μην", "όχι", "ποτέ", "χωρίς",  # el
    "değil", "yok", "asla",  # tr
    "لا", "لم", "لن", "ليس", "ليست", "بدون",  # ar
    "안",  # ko (a word before the verb)
])
FOREIGN_NEGATION_MARKS = ("不", "没", "沒", "别", "別", "无", "無", "未", "非", "勿",  # zh / ja
                           "ない", "ません", "なかった",  # ja endings
                           "않", "못", "없")  # ko

STOPWORDS = frozenset(
    ["a", "an", "the", "of", "to", "in", "on", "at", "for", "from", "by", "with", "about", "as",
     "into", "onto", "over", "under", "and", "or", "but", "if", "then", "so", "than", "that",
     "this", "these", "those", "there", "here", "it", "its", "it's", "is", "are", "was", "were",
     "be", "been", "being", "am", "do", "does", "did", "doing", "done", "have", "has", "had",
     "having", "i", "me", "my", "mine", "we", "us", "our", "you", "your", "yours", "he", "him",
     "his", "she", "her", "they", "them", "their", "what", "which", "who", "whom", "whose", "when",
     "where", "why", "how", "can", "could", "would", "should", "will", "shall", "may", "might",
     "must", "some", "any", "all", "each", "every", "much", "many", "more", "most", "very", "just",
     "also", "too", "get", "got", "one", "ones", "s", "t", "up", "out", "way", "ways", "thing",
     "things", "someone", "something", "anyone", "anything", "please", "tell", "explain", "know",
     "need", "want", "like", "good", "best"]
)

NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
    "twenty": "20", "thirty": "30", "forty": "40", "fifty": "50", "hundred": "100",
    "thousand": "1000", "million": "1000000", "billion": "1000000000",
    "first": "1st", "second": "2nd", "third": "3rd", "fourth": "4th", "fifth": "5th",
    "half": "0.5", "quarter": "0.25", "dozen": "12",
}

MONTHS = frozenset(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
     "sept", "oct", "nov", "dec", "monday", "tuesday", "wednesday", "thursday", "friday",
     "saturday", "sunday"]
)

#: generic opposites; "one side says X where the other says its opposite" means no hit
ANTONYM_PAIRS = [
    ("enable", "disable"), ("allow", "block"), ("allow", "deny"), ("allow", "prohibit"),
    ("allow", "forbid"), ("grant", "revoke"), ("grant", "block"), ("grant", "deny"),
    ("public", "private"), ("with", "without"), ("increase", "decrease"),
    ("increase", "reduce"), ("high", "low"), ("higher", "lower"), ("more", "less"),
    ("more", "fewer"), ("before", "after"), ("add", "remove"), ("add", "delete"),
    ("create", "delete"), ("create", "drop"), ("include", "exclude"), ("legal", "illegal"),
    ("safe", "dangerous"), ("safe", "unsafe"), ("true", "false"), ("yes", "no"),
    ("start", "stop"), ("open", "close"), ("buy", "sell"), ("import", "export"),
    ("install", "uninstall"), ("encrypt", "decrypt"), ("push", "pull"),
    ("upload", "download"), ("min", "max"), ("minimum", "maximum"), ("best", "worst"),
    ("pros", "cons"), ("advantage", "disadvantage"), ("positive", "negative"),
    ("good", "bad"), ("hot", "cold"), ("fast", "slow"), ("win", "lose"), ("gain", "lose"),
    ("gain", "loss"), ("profit", "loss"), ("improve", "hurt"), ("improve", "worsen"),
    ("help", "hurt"), ("mandatory", "optional"), ("required", "optional"),
    ("taxable", "exempt"), ("cause", "prevent"), ("love", "hate"), ("like", "dislike"),
    ("agree", "disagree"), ("accept", "reject"), ("approve", "reject"), ("rich", "poor"),
    ("big", "small"), ("large", "small"), ("long", "short"), ("old", "new"), ("old", "young"),
    ("early", "late"), ("first", "last"), ("top", "bottom"), ("up", "down"), ("in", "out"),
    ("inside", "outside"), ("north", "south"), ("east", "west"), ("left", "right"),
    ("male", "female"), ("men", "women"), ("boy", "girl"), ("husband", "wife"),
    ("adult", "child"), ("send", "receive"), ("borrow", "lend"), ("debit", "credit"),
    ("import", "export"), ("win", "loss"), ("success", "failure"), ("always", "never"),
    ("everyone", "nobody"), ("all", "none"), ("lock", "unlock"), ("hide", "show"),
    ("visible", "hidden"), ("on", "off"), ("online", "offline"), ("light", "dark"),
    ("light", "heavy"), ("cheap", "expensive"), ("easy", "hard"), ("easy", "difficult"),
    ("strong", "weak"), ("wet", "dry"), ("full", "empty"), ("attack", "defend"),
    ("healthy", "unhealthy"), ("cure", "cause"), ("bypass", "enable"), ("bypass", "use"),
    # function words that flip a question: compared over every word, not only content words
    ("over", "under"), ("above", "below"), ("many", "few"), ("most", "least"), ("all", "some"),
    ("some", "none"), ("every", "some"), ("always", "sometimes"), ("next", "last"),
    ("next", "previous"), ("into", "out"), ("maximum", "minimum"), ("more", "fewer"),
    ("this", "next"), ("this", "last"), ("current", "former"), ("current", "previous"),
    ("past", "future"), ("yesterday", "today"), ("yesterday", "tomorrow"), ("today", "tomorrow"),
    # who the answer is for
    ("junior", "senior"), ("beginner", "advanced"), ("beginner", "expert"), ("basic", "advanced"),
    ("simple", "complex"), ("brief", "detailed"), ("kid", "adult"), ("parent", "child"),
    ("student", "teacher"), ("employee", "employer"), ("buyer", "seller"),
    ("landlord", "tenant"), ("school", "university"), ("undergraduate", "graduate"),
    # whose: another person's ("he" / "she") is another question
    ("he", "she"), ("his", "her"), ("him", "her"), ("himself", "herself"), ("my", "your"),
]
