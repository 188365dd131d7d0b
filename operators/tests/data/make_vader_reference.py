"""Writes the reference VADER compound scores that operators/tests/vader_reference.rs checks against.

Scores every tweet of the VADER ground-truth set with the real reference implementation,
PyPI `vaderSentiment` 3.3.2, and prints `id TAB compound` (4 decimals, as the reference rounds).

How it was run (from the workspace root, Python 3.11):

    pip install vaderSentiment==3.3.2
    python3 operators/tests/data/make_vader_reference.py \
        ../shared/data/vader-tweets/tweets_GroundTruth.txt \
        > operators/tests/data/vader_reference.tsv
"""

import sys
from importlib.metadata import version

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer


def read_tweets(path):
    """Yields (id, text), splitting lines exactly as the Rust test does (LF, optional CR before it)."""
    with open(path, "rb") as f:
        data = f.read().decode("utf-8")
    for line in data.split("\n"):
        if line.endswith("\r"):
            line = line[:-1]
        if not line:
            continue
        tweet_id, _rating, text = line.split("\t", 2)
        yield tweet_id, text


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_vader_reference.py tweets_GroundTruth.txt > vader_reference.tsv")
    installed = version("vaderSentiment")
    if installed != "3.3.2":
        sys.exit("vaderSentiment 3.3.2 is required, found %s" % installed)
    analyzer = SentimentIntensityAnalyzer()
    out = sys.stdout
    out.write("# compound scores from PyPI vaderSentiment %s (SentimentIntensityAnalyzer.polarity_scores)\n"
              % installed)
    for tweet_id, text in read_tweets(sys.argv[1]):
        compound = analyzer.polarity_scores(text)["compound"]
        out.write("%s\t%.4f\n" % (tweet_id, compound))


if __name__ == "__main__":
    main()
