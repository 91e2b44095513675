"""Built-in offline text: generated TinyStories-like stories, and Python's own docs.

``builtin_stories(n, seed)`` writes short children's stories from a small grammar
(characters, places, objects, three plots, simple sentence templates). Story ``i``
depends only on ``(seed, i)``, so the first ``k`` of ``n`` stories are the ``k``
stories of ``builtin_stories(k, seed)``. Nothing is read from disk or downloaded.

``pydoc_text()`` is real English prose: the help topics shipped with CPython in
``pydoc_data.topics`` (about 450 kB), a fallback when no corpus is at hand.
"""

from __future__ import annotations

import random

__all__ = ["builtin_stories", "pydoc_documents", "pydoc_text"]

# (kind, pronoun); names are drawn by pronoun.
_HEROES = [
    ("little girl", "she"),
    ("little boy", "he"),
    ("small cat", "she"),
    ("brown dog", "he"),
    ("tiny bird", "she"),
    ("fluffy bunny", "he"),
    ("big bear", "he"),
    ("green frog", "she"),
    ("young princess", "she"),
    ("little dragon", "he"),
]
_NAMES = {
    "she": ["Lily", "Mia", "Sue", "Anna", "Lucy", "Emma", "Zoe", "Rosie", "Daisy", "Kitty"],
    "he": ["Tom", "Ben", "Max", "Sam", "Tim", "Jack", "Leo", "Bob", "Finn", "Spot"],
}
_TRAITS = ["kind", "shy", "silly", "brave", "curious", "happy", "clever", "gentle"]
_HOMES = [
    "in a small house near the woods",
    "in a big red house on a quiet street",
    "in a cozy nest in a tall tree",
    "in a little hut by the sea",
    "in a castle on a green hill",
    "on a farm with many animals",
]
_PLACES = [
    "the park",
    "the forest",
    "the beach",
    "the garden",
    "the farm",
    "the big hill",
    "the river",
    "the town market",
    "the school",
    "the zoo",
]
_OBJECTS = [
    "red ball",
    "shiny stone",
    "blue kite",
    "toy car",
    "soft teddy bear",
    "yellow hat",
    "big box of crayons",
    "pretty flower",
    "magic stick",
    "little boat",
]
_ACTIVITIES = ["play", "run and jump", "sing songs", "draw pictures", "dance", "read books"]
# (phrase, pronoun)
_FRIENDS = [
    ("a sad puppy", "he"),
    ("a lost kitten", "she"),
    ("a little duck", "she"),
    ("an old turtle", "he"),
    ("a friendly fox", "he"),
    ("a tiny mouse", "she"),
    ("a wise owl", "she"),
    ("a shy squirrel", "he"),
]
_WEATHER = ["sunny", "windy", "rainy", "warm", "cold", "bright"]
_FEELINGS = ["happy", "proud", "glad", "excited"]
_MORALS = [
    "helping others makes everyone happy",
    "sharing is caring",
    "being kind is the best thing to do",
    "it is good to be brave",
    "friends always help each other",
    "it is okay to ask for help",
]
# (problem, what the hero does, how it ends); {F} friend, {fp} friend's possessive.
_PROBLEMS = [
    ("{F} was stuck in a tree.", "climbed up slowly and helped {F} down", "{F} was safe again"),
    ("{F} could not find {fp} mom.", "looked everywhere with {F}", "they found {fp} mom by a pond"),
    ("{F} was hungry and cold.", "shared a warm snack with {F}", "{F} felt much better"),
    ("{F} had lost {fp} toy.", "searched under every bush", "the toy was hiding under a leaf"),
    (
        "{F} was scared of the dark.",
        "held a little light for {F}",
        "the dark was not scary anymore",
    ),
]

_POSSESSIVE = {"she": "her", "he": "his"}


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _story(rng: random.Random) -> str:
    kind, p = rng.choice(_HEROES)
    name, pos = rng.choice(_NAMES[p]), _POSSESSIVE[p]
    trait, obj, place = rng.choice(_TRAITS), rng.choice(_OBJECTS), rng.choice(_PLACES)
    feeling, moral = rng.choice(_FEELINGS), rng.choice(_MORALS)
    opening = rng.choice(
        [
            f"Once upon a time, there was a {trait} {kind} named {name}.",
            f"One {rng.choice(_WEATHER)} day, a {trait} {kind} named {name} woke up early.",
            f"There once was a {kind} called {name}. {_cap(p)} was very {trait}.",
        ]
    )
    sentences = [
        opening,
        f"{_cap(p)} lived {rng.choice(_HOMES)}.",
        f"{name} loved to {rng.choice(_ACTIVITIES)} with {pos} {obj}.",
    ]
    plot = rng.randrange(3)
    if plot == 0:  # help a friend
        friend, fpron = rng.choice(_FRIENDS)
        f_name = friend.split(" ", 1)[1]
        problem, act, end = rng.choice(_PROBLEMS)
        fill = {"F": f"the {f_name}", "fp": _POSSESSIVE[fpron]}
        sentences += [
            f"One day, {name} went to {place}. There, {p} saw {friend}.",
            _cap(problem.format(**fill)),
            f'{name} said, "Do not worry, little {f_name.split()[-1]}. I will help you."',
            f"{_cap(p)} {act.format(**fill)}.",
            f'At last, {end.format(**fill)}. The {f_name} said, "Thank you, {name}!"',
            f"{name} felt {feeling}. {_cap(p)} learned that {moral}.",
        ]
    elif plot == 1:  # the lost object
        helper = rng.choice(["mom", "dad", "grandma", "best friend"])
        spot = rng.choice(["under the bed", "in the grass", "behind a big rock", "in the sand"])
        sentences += [
            f"One day, {name} took {pos} {obj} to {place}.",
            f"{_cap(p)} played all day, but when it was time to go home, the {obj} was gone!",
            f'{name} was sad. "Where is my {obj}?" {p} cried.',
            f'{_cap(pos)} {helper} said, "Let\'s look for it together."',
            f"They looked and looked. Then {name} saw something {spot}. It was the {obj}!",
            f"{name} hugged {pos} {helper}. {_cap(p)} was so {feeling}.",
        ]
    else:  # wanting and sharing
        other = rng.choice(_NAMES[rng.choice(["she", "he"])])
        while other == name:
            other = rng.choice(_NAMES["she"] + _NAMES["he"])
        sentences += [
            f"One {rng.choice(_WEATHER)} morning, {name} and {pos} friend {other} went to {place}.",
            f"{other} had a new {obj}. {name} wanted to play with it too.",
            f'"Can I have a turn, please?" {name} asked.',
            f'{other} thought for a moment and said, "Yes! We can play together."',
            f"They played with the {obj} until the sun went down.",
            f"{name} and {other} were {feeling}. They knew that {moral}.",
        ]
    sentences.append(
        rng.choice(
            [
                f"From that day on, {name} always remembered that {moral}.",
                f"{name} went home with a big smile.",
                f"That night, {name} slept with a happy heart.",
                "The end.",
            ]
        )
    )
    return " ".join(sentences)


def builtin_stories(n_stories: int, seed: int = 0) -> list[str]:
    """``n_stories`` generated children's stories (about 600 characters each).

    Deterministic: story ``i`` depends only on ``(seed, i)``.
    """
    if n_stories < 0:
        raise ValueError(f"builtin_stories: n_stories must be >= 0; got {n_stories}")
    return [_story(random.Random(f"tinystory:{seed}:{i}")) for i in range(n_stories)]


def pydoc_documents() -> list[str]:
    """The help topics of ``pydoc_data.topics`` (real English prose), one per topic."""
    from pydoc_data.topics import topics

    return [topics[key].strip() for key in sorted(topics) if topics[key].strip()]


def pydoc_text() -> str:
    """All of ``pydoc_documents()`` as one text, topics separated by blank lines."""
    return "\n\n".join(pydoc_documents())
