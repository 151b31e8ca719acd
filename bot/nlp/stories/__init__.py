"""Stories: articles about one event, from any outlet, grouped as they are stored.

- `features`: what the same-story decision knows of an article (computed once, kept as
  JSON) and the running document frequencies it is weighed with.
- `cluster`: the same-story score, `same_story` for two articles, and the incremental
  `Clusterer` over the open stories of the story window; `group` for a batch.
- `text`: a story's headline and its 1–2 sentences; `bot.nlp.titles` strips site names.
- `rank`: a story's weight, for ordering a digest.

State and its rebuilding: the frequencies are counts (`DocumentFrequencies.documents`
and `.counts`) that a store keeps up to date as it stores articles; the clusterer holds
only the open stories, those whose latest article is newer than
`Clusterer.horizon(newest)`. At start, put their articles back with `Clusterer.restore`
and new ones continue the same stories; `Clusterer.closed` lists the stories that closed,
for whoever persists them.
"""
