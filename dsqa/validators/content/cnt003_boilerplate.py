"""CNT003: refusal and AI-disclaimer boilerplate in a reply, in any letter case, with its prefilters."""

from __future__ import annotations

import re

from ...model import Severity
from ..base import Code

CODE = Code(
    Severity.WARNING,
    "refusal or AI-disclaimer boilerplate in a reply",
    why="""
        An assistant reply that refuses ("I cannot help with that", "I'm unable to assist") or
        hedges as a machine ("As an AI language model", "I don't have personal opinions"), in
        any letter case, in English, Chinese ("作为一个人工智能", "我无法回答"), Japanese
        ("AIとして、", "お答えできません"), Spanish ("Como modelo de lenguaje", "No puedo
        ayudarte"), French ("En tant qu'IA", "Je ne peux pas vous aider"), German ("Als KI habe
        ich keine", "Ich kann Ihnen nicht helfen"), Portuguese ("Como uma IA, eu não", "Não
        posso ajudar") or Russian ("Как языковая модель", "Я не могу помочь"). A bare AI
        ("como IA", "als KI") counts only with a hedge after it, and "作为" only before AI or a
        language model. A few of these teach the fine-tuned model to refuse or hedge where it
        should answer. Refusals are looked for in the first refusal_chars characters of a reply,
        AI disclaimers anywhere in it; "As an AI assistant developed by ..." introduces the
        assistant and counts only with a hedge after it. Rewrite the reply to answer, or drop
        the example. Switch the code off (ignore: [CNT003]) for safety data that teaches
        refusals on purpose.
    """,
    failing='{"messages": [{"role": "user", "content": "Tell me a joke"}, {"role": "assistant", "content": "AS AN AI LANGUAGE MODEL, I CANNOT HELP WITH THAT."}]}',
    passing='{"messages": [{"role": "user", "content": "Tell me a joke"}, {"role": "assistant", "content": "As an AI assistant made by Acme, here is one: why did the chicken cross the road?"}]}',
    options=("refusal_chars",),
)

_DISCLAIMER_EN = (
    r"\bas an? (?:AI (?:language )?model|AI(?! assistant)|artificial intelligence|(?:large )?language model)\b"
    # "As an AI assistant developed by ..." introduces the assistant; only a hedge after it counts
    r"|\bas an? AI assistant,? I (?:do not|don't|don’t|cannot|can't|can’t|am not|am unable|have no)\b"
    r"|\bI(?:'m|’m| am) (?:just |only |merely )an? (?:AI|artificial intelligence|(?:large )?language model|computer program)\b"
    r"|\bI(?:'m|’m| am) an? (?:AI language model|(?:large )?language model)\b"
    r"|\bI (?:do not|don't|don’t) have (?:personal )?(?:opinions|feelings|emotions|beliefs|personal experiences|"
    r"the ability to (?:browse|access the internet|access real-time))\b"
)
#: the same in the other languages people train in. A bare "AI" ("como IA", "als KI") counts only
#: with a hedge after it, as "As an AI assistant" does in English: "als KI bezeichnet" is no disclaimer
_DISCLAIMER_OTHER = (
    # Spanish and Portuguese
    r"\bcomo (?:una? |uma? )?(?:(?:gran |grande )?modelo de (?:lenguaje|linguagem)|inteligencia artificial|inteligência artificial)\b"
    r"|\bcomo una? (?:IA|modelo de IA)\b"
    r"|\bcomo (?:una |uma )?IA,? (?:yo |eu )?(?:no|não)\b"
    r"|\bsoy (?:solo |sólo |solamente |simplemente )?una? (?:IA|modelo de lenguaje|inteligencia artificial|programa informático)\b"
    r"|\bsou (?:apenas |só |somente )?uma? (?:modelo de linguagem|inteligência artificial)\b"
    r"|\bno tengo (?:opiniones|sentimientos|emociones|creencias|preferencias)\b"
    r"|\bn(?:ão|ao) tenho (?:opiniões|opinioes|sentimentos|emoções|emocoes|crenças|crencas|preferências)\b"
    # French
    r"|\ben tant qu(?:e |'|’)(?:(?:grand )?modèle de langage|IA|intelligence artificielle)\b"
    r"|\bje (?:ne )?suis (?:qu(?:e |'|’))?(?:juste |seulement |simplement )?une? (?:IA|intelligence artificielle|modèle de langage|programme informatique)\b"
    r"|\bje n(?:'|’)ai pas (?:d(?:'|’)opinions?|de sentiments|d(?:'|’)émotions|de croyances|de préférences)\b"
    # German
    r"|\bals (?:eine? )(?:KI|künstliche Intelligenz|(?:großes )?Sprachmodell|KI-Sprachmodell)\b"
    r"|\bals künstliche Intelligenz\b"
    r"|\bals KI(?:-Sprachmodell)?,? (?:habe ich keine|kann ich (?:leider )?nicht|bin ich nicht)\b"
    r"|\bich bin (?:nur |lediglich |bloß |einfach )?eine? (?:KI|künstliche Intelligenz|(?:großes )?(?:KI-)?Sprachmodell|Computerprogramm)\b"
    r"|\bich habe keine (?:persönlichen |eigenen )?(?:Meinungen|Meinung|Gefühle|Emotionen|Überzeugungen|Vorlieben)\b"
    # Russian
    r"|\bкак (?:языковая модель|(?:модель )?ИИ(?=[,.!?:;]| я\b)|искусственный интеллект(?=[,.!?:;]| я\b))"
    r"|\bя (?:всего лишь |лишь |просто |только )?(?:языковая модель|ИИ(?![-\w])|искусственный интеллект|компьютерная программа)"
    r"|\bу меня нет (?:личного мнения|личных мнений|собственного мнения|чувств|эмоций|убеждений|личных предпочтений)"
    # Chinese ("作为一名作家" is not one: the noun must be AI or a language model)
    r"|(?:作为|我是|我只是|我仅仅是)(?:一个|一名|一款|一种)? ?(?:(?:语言)?(?:人工智能|AI|ＡＩ)|计算机程序)(?! ?(?:助手|助理)) ?(?:语言模型|模型|程序|系统)?(?=[，,。.、；;：:！!\s]|我|$)"
    r"|(?:作为|我是|我只是)(?:一个|一名|一款|一种)?(?:大型)?语言模型"
    r"|(?:作为|我是)(?:一个|一名|一款)? ?(?:人工智能|AI|ＡＩ) ?(?:助手|助理)[，,]?(?:所以|因此)?我并?(?:不能|无法|没有|不会|不具备)"
    r"|我没有(?:个人的?(?:观点|意见|喜好|偏好|感情|情感|经历|经验)|感情|情感|情绪|主观(?:意见|观点|感受|感觉))"
    # Japanese
    r"|(?:AI|ＡＩ|人工知能)(?:言語モデル)?として[、,]|言語モデルとして"
    r"|私は(?:ただの|単なる)?(?:AI|ＡＩ|人工知能|言語モデル|AI言語モデル)(?:です|なので|ですので|であり|であるため)"
    r"|(?:個人的な(?:意見|感情|好み|経験)|感情|意見)を(?:持って|持ち合わせて)(?:いません|おりません)"
)
_REFUSAL_EN = (
    r"\b(?:I|we)(?:'m|’m| am| are)? ?(?:cannot|can't|can’t|can not|won't|will not|unable to|not able to|must decline to|not allowed to)"
    r" (?:help|assist|provide|comply|fulfil|fulfill|do that|answer|generate|create|write|engage|support|share)"
    r"(?: (?:you )?with)?(?: (?:that|this|your request|this request))?\b"
)
_REFUSAL_OTHER = (
    r"\bno (?:puedo|podemos) (?:ayudar|asistir|proporcionar|responder|cumplir|generar|crear|escribir|compartir)"
    r"|\bn(?:ão|ao) (?:posso|podemos|consigo) (?:te |lhe )?(?:ajudar|auxiliar|fornecer|responder|cumprir|gerar|criar|escrever|compartilhar)"
    r"|\bje ne (?:peux|pourrai|pourrais) pas (?:vous |te |t'|t’)?(?:aider|assister|fournir|répondre|donner|générer|créer|écrire|partager)"
    r"|\bje ne suis pas en mesure de\b"
    r"|\bich kann (?:(?:Ihnen|dir|euch|dabei|damit|hierbei|leider|das|diese Anfrage) ){0,3}nicht (?:helfen|behilflich|unterstützen|beantworten|erfüllen)"
    r"|\b(?:я|мы) не (?:могу|можем|в состоянии) (?:вам |тебе )?(?:помочь|предоставить|ответить|выполнить|создать|написать|поделиться)"
    r"|我们?(?:不能|无法|没法|没有办法)[^。！？!?\n]{0,12}?(?:帮助|协助|帮你|帮您|提供|回答|满足|完成|生成|创建|编写|给出)"
    r"|(?:お手伝い|お答え|回答|ご協力|サポート|ご提供|提供)(?:することは|すること|は)?でき(?:ません|かねます)"
)
DISCLAIMER = re.compile(_DISCLAIMER_EN, re.I)
REFUSAL = re.compile(_REFUSAL_EN, re.I)
#: apart from the English ones: searched only where the other languages' prefilters say they may be
DISCLAIMER_OTHER = re.compile(_DISCLAIMER_OTHER, re.I)
REFUSAL_OTHER = re.compile(_REFUSAL_OTHER, re.I)


def _first(a: re.Match[str] | None, b: re.Match[str] | None) -> re.Match[str] | None:
    """The earlier of two matches (``a`` at the same place): as one pattern of both would find."""
    return a if b is None or (a is not None and a.start() <= b.start()) else b


def find_boilerplate(text: str, refusal_chars: int) -> re.Match[str] | None:
    """The first AI disclaimer anywhere in a reply, else the first refusal in its first
    ``refusal_chars`` characters, else None, in any of the languages: the rule without its prefilters."""
    m = _first(DISCLAIMER.search(text), DISCLAIMER_OTHER.search(text))
    if m is not None:
        return m
    return _first(REFUSAL.search(text, 0, refusal_chars), REFUSAL_OTHER.search(text, 0, refusal_chars))


def find_boilerplate_gated(text: str, refusal_chars: int, apostrophe: bool) -> re.Match[str] | None:
    """``find_boilerplate``, with each pattern looked for only where its prefilter says it may be.

    ``apostrophe``: may the reply hold a straight apostrophe (``may_hold_apostrophe`` on its line)?
    """
    low = text.lower()
    if not text.isascii() and (not may_lower(text, low) or may_be_other_script(text)):
        return find_boilerplate(text, refusal_chars)
    if not may_hold_boilerplate(low):
        return None
    has_not = "not" in low  # part of five of the literals: one scan rules them all out
    foreign = may_be_foreign(low)
    m = _first(DISCLAIMER.search(text) if may_disclaim(low, apostrophe, has_not) else None,
               DISCLAIMER_OTHER.search(text) if foreign else None)
    if m is None:
        head = low if len(low) <= refusal_chars else low[:refusal_chars]
        m = _first(REFUSAL.search(text, 0, refusal_chars) if may_refuse(head, apostrophe, has_not) else None,
                   REFUSAL_OTHER.search(text, 0, refusal_chars) if foreign else None)
    return m


# -- prefilters: each may say yes when the rule finds nothing, and never says no when it finds something
#
# The patterns match in any letter case, so the prefilters look at the reply in lower case. With
# re.I, "ı" and "İ" also match i: a reply that holds one is searched in full (see may_lower).


def may_lower(text: str, low: str) -> bool:
    """May the prefilters look at a non-ASCII reply in lower case (``low``)? Not when lower case
    hides a letter the patterns match (ı stays ı and ſ stays ſ, though they match i and s; İ
    becomes two characters): then the reply is searched without prefilters. (The Kelvin sign
    also matches k, and lower case makes it one.)"""
    return len(low) == len(text) and "ı" not in low and "ſ" not in low


#: Cyrillic, kana and CJK ideographs: the Russian, Japanese and Chinese patterns each hold one
_OTHER_SCRIPTS = re.compile("[\u0400-\u04ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")


def may_be_other_script(text: str) -> bool:
    """Does a non-ASCII reply hold a letter of Russian, Japanese or Chinese? Then it is searched
    without prefilters: these replies are few, and their patterns have no literal in common."""
    return _OTHER_SCRIPTS.search(text) is not None


#: one pass for the literals of the patterns that hold an "n", grouped by the letter after it
#: (ungrouped, the other languages cost twice the English scan; grouped, a third more).
#: English: the forms of "not" (cannot, can not, will not, not able, not allowed, not have),
#: unable, decline, n't / n’t (can't, won't, don't), "an ai", "artificial intelligence" and
#: "language model". The other languages in a Latin script (every match of theirs holds an "n"):
#: no tengo / puedo, "IA, no", "eu no", nao tenho, não, un(a) / une / ein(e) before the noun, n'ai pas,
#: je ne peux, keine, en tant qu', inteligencia, lenguaje, linguagem, nicht, künstliche; the same
#: as ``_N_FOREIGN``. sre scans for the "n" in C and looks around it only there. A look back costs
#: more than a letter, so each literal is anchored where a letter rules most "n"s out first:
#: cannot at its first "n" ("nnot"), can not at "n not", "decline" where "decline to" goes on,
#: and the words before "no" (ia, no) or after "ne" (keine) only where a word ends
_N_LITERALS = re.compile(
    r"n(?:o(?:t(?: (?:able|allowed|have)|(?<=will not))| (?:tengo|puedo|podemos)|\b(?:(?<=ia, no)|(?<=ia no)|(?<=yo no)|(?<=eu no)))"
    r"|not|a(?:ble|o (?:tenho|posso|podemos|consigo)| (?:ia\b|modelo de ia\b|programa inf))|'(?:t|ai pas)|’(?:t|ai pas)"
    r"|e(?: (?:to(?<=decline to)|peux|pourrai|suis pas en mesure|ia\b|ki\b|intelligence artificielle|modèle|programme inf|sprach|groß|computerprog)|\b(?<= keine))"
    r"| (?:ai|not|tant qu|ia\b|ki\b|intelligence artificielle|modelo de ia\b|modèle|programm?[ae] inf|sprach|groß|computerprog)"
    r"|t(?:elligence(?<=rtificial intelligence)|elig)|gua(?:ge model|je|gem)|icht|stlich|ão)"
)


def may_hold_boilerplate(low: str) -> bool:
    """Coarse prefilter of all the patterns in a Latin script on the lower-cased reply: does it
    hold any of their literals (the "n" forms above, "computer program", "a ai")? Every "ai" of
    the English patterns follows "an " or "a ", and every "model" follows "language " or "ai ".
    Most replies hold none of these, and this is 3 scans where the finer prefilters below are about 10."""
    return _N_LITERALS.search(low) is not None or "computer program" in low or "a ai" in low


#: the other languages' "n" forms of ``_N_LITERALS`` on their own
_N_FOREIGN = re.compile(
    r"n(?:o(?: (?:tengo|puedo|podemos)|(?<=ia, no)|(?<=ia no)|(?<=yo no)|(?<=eu no))"
    r"|a(?:o (?:tenho|posso|podemos|consigo)| (?:ia\b|modelo de ia\b|programa inf))|'ai pas|’ai pas"
    r"|e(?:(?<= keine)| (?:peux|pourrai|suis pas en mesure|ia\b|ki\b|intelligence artificielle|modèle|programme inf|sprach|groß|computerprog))"
    r"| (?:tant qu|ia\b|ki\b|intelligence artificielle|modelo de ia\b|modèle|programm?[ae] inf|sprach|groß|computerprog)"
    r"|telig|gua(?:je|gem)|icht|stlich|ão)"
)


def may_be_foreign(low: str) -> bool:
    """Prefilter of ``DISCLAIMER_OTHER`` and ``REFUSAL_OTHER`` on a lower-cased reply in a Latin
    script (replies in other scripts are searched in full): does it hold one of their "n" forms?"""
    return _N_FOREIGN.search(low) is not None


def may_disclaim(low: str, apostrophe: bool, has_not: bool) -> bool:
    """Prefilter of ``DISCLAIMER`` on the lower-cased reply: does it hold " ai", "model",
    "rtificial", "computer program", "not have" or "on't"/"on’t" (don't)?

    ``has_not``: does the reply hold "not"; ``apostrophe``: may it hold a straight apostrophe.
    """
    return (
        "model" in low or "rtificial" in low or "computer program" in low
        or (has_not and "not have" in low)
        or " ai" in low
        or (apostrophe and "on't" in low) or "on’t" in low
    )


def may_refuse(head: str, apostrophe: bool, has_not: bool) -> bool:
    """Prefilter of ``REFUSAL`` on the lower-cased start of the reply: does it hold cannot, can
    not, can't, won't, will not, unable, not able, decline or not allowed?"""
    return (
        (has_not and not_refusal(head))
        or "nable" in head or "decline" in head
        or (apostrophe and ("an't" in head or "on't" in head))
        or "an’t" in head  # the pattern spells won't with a straight apostrophe only
    )


def not_refusal(head: str) -> bool:
    """Is an occurrence of "not" in ``head`` part of "cannot", "can not", "will not", "not able"
    or "not allowed"? (A reply holds few; looking around each beats a scan per literal.)"""
    i = head.find("not")
    while i >= 0:
        if ((i >= 2 and head.startswith("an", i - 2)) or (i >= 3 and head.startswith("an ", i - 3))
                or (i >= 5 and head.startswith("will ", i - 5))
                or head.startswith("not able", i) or head.startswith("not allowed", i)):
            return True
        i = head.find("not", i + 3)
    return False


_APOSTROPHE = ord("'")


def may_hold_apostrophe(sig: bytes) -> bool:
    """Prefilter on a line's signature, which keeps every straight apostrophe: may a string of
    the line hold one (can't, won't, don't)?"""
    return _APOSTROPHE in sig
