"""Task templates over the forum site (after upstream templates 6, 22, 3765, 17, 23)."""

from __future__ import annotations

import random

from ..sites import World
from ..sites.reddit import ME
from .spec import TaskSpec, click, html_eval, stop, string_eval, target, type_, url_eval

R = "__REDDIT__"
BIOS = ["Awesome Prompt Artist", "Pittsburgh native and book lover", "I build tiny robots", "Coffee first",
        "Amateur astronomer", "Keyboard enthusiast"]
REPLIES = ["Great point, thanks!", "I disagree, but interesting.", "Following this thread.", "Same here!",
           "Could you share a source?"]
QUESTIONS = {"books": "Any recommendations for short classics?", "gaming": "Is the new handheld worth it?",
             "personalfinance": "Roth or traditional for a first job?", "Pittsburgh": "Where to watch fireworks?",
             "relationship_advice": "How do you plan date nights on a budget?",
             "MachineLearning": "Which optimizer do you default to?"}


def generate(world: World, rng: random.Random, per_template: int) -> list[TaskSpec]:
    """Instantiates every forum template ``per_template`` times (fewer when entities run out)."""
    site = world.site("reddit")
    st = site.state
    out: list[TaskSpec] = []

    def pick(items: list, n: int = per_template) -> list:
        return rng.sample(items, min(n, len(items)))

    for bio in pick(BIOS):
        out.append(TaskSpec("reddit", "change_bio", 6, 'Change my reddit bio to "{{content}}"', {"content": bio}, R,
                            html_eval(target(f"{R}/user/{ME}", 'document.querySelector(".user-bio__biography")'
                                                               ".outerText", exact=bio)),
                            [click(ME), click("Edit biography"), type_("Biography", bio),
                             click("Save", role="button"), stop()]))
    for forum in pick(st["forums"]):
        posts = [p for p in st["posts"] if p["forum"] == forum]
        newest = min(posts, key=lambda p: p["age_hours"])
        out.append(TaskSpec("reddit", "upvote_newest", 22, "Upvote the newest post in {{subreddit}} subreddit",
                            {"subreddit": forum}, R,
                            html_eval(target(site.post_url(newest).replace(site.base_url, R),
                                             "document.querySelector('div.submission__vote').querySelector('form')"
                                             ".getAttribute('class')", include=["vote vote--user-upvoted"])),
                            [click("Forums"), click(forum), click("New"),
                             click("Upvote", role="button", after=newest["title"]), stop()]))
        top = max(posts, key=lambda p: p["votes"])
        out.append(TaskSpec("reddit", "top_post_author", 17, 'Among the top {{number}} post in "{{subreddit}}" forum, '
                            "{{description}}", {"number": 1, "subreddit": forum,
                                                "description": "who is the author of the post?"}, R,
                            string_eval(must_include=[top["author"]]),
                            [click("Forums"), click(forum), stop(top["author"])]))
    for forum in pick(sorted(QUESTIONS)):
        q = QUESTIONS[forum]
        out.append(TaskSpec("reddit", "post_question", 3765, 'Post my question, "{{question}}", in a subreddit where '
                            "I'm likely to get an answer", {"question": q}, R,
                            url_eval(f"{R}/f/{forum}", [target("func:reddit_get_post_url('__last_url__')",
                                                               "document.querySelector('.submission__inner')"
                                                               ".outerText", include=[q])]),
                            [click("Forums"), click(forum), click("Submit"), type_("Title", q),
                             click("Create submission", role="button"), stop()]))
    for p in pick(st["posts"]):
        reply = rng.choice(REPLIES)
        out.append(TaskSpec("reddit", "reply_post", 23, 'Reply to {{position_description}} in this post with '
                            '"{{content_description}}"', {"position_description": f"the post \"{p['title']}\" in "
                                                          f"{p['forum']}", "content_description": reply},
                            f"{R}/f/{p['forum']}",
                            html_eval(target(site.post_url(p).replace(site.base_url, R),
                                             "document.querySelector('.comment__body:last-of-type').outerText",
                                             exact=reply)),
                            [click(p["title"]), type_("Comment", reply), click("Post", role="button"), stop()]))
    return out
