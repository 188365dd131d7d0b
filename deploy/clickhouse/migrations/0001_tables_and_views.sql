-- brandpulse ClickHouse schema, migration 0001: tables of SPEC §5/§7 and the analyst views.
-- Applied by `brandpulse clickhouse migrate` (statements split on lines ending with `;`).
-- Works on ClickHouse 18.16 (Debian) and current releases (checked with chdb 26.x): no
-- DateTime64, no TTL, no window functions, no LowCardinality, JOINs spelled `ANY LEFT JOIN`.
--
-- Engine choice: every table is ReplacingMergeTree(version), keyed by the row's identity.
-- The pipeline sends the *current value* of a row each time it changes, with a version that is a
-- pure function of when the dataflow produced it (epoch number, with the top bit set for final
-- rows), so:
--   * a retried or repeated batch inserts rows with the same key, version and content: they
--     replace each other, nothing is double counted;
--   * a later change (late data, a dimension change, a retraction) has a higher version and wins;
--   * a window whose contributions were all retracted is sent as an all-zero row, which the
--     `*_current` views drop.
-- VersionedCollapsingMergeTree(sign, version) was rejected: to cancel a row the sink would have to
-- remember and resend the old values (unbounded sink state), and a repeated batch of `+1` rows on
-- a non-replicated table (no insert deduplication) would count twice.
-- Merges are eventual, so raw tables may briefly hold several versions of a row; the
-- `*_current` views pick the highest version with argMax, which is exact whether or not parts
-- were merged (and, unlike a view over FINAL, keeps analysts' WHERE filters after the choice).

CREATE TABLE IF NOT EXISTS brand_metrics_minute (
    brand_id String,
    window_start DateTime('UTC'),
    mentions UInt64,
    mentions_positive UInt64,
    mentions_negative UInt64,
    mentions_neutral UInt64,
    mentions_unscored UInt64,
    sentiment_sum Float64,
    sentiment_count UInt64,
    reach_sum UInt64,
    ad_comments UInt64,
    ad_comments_negative UInt64,
    ad_comments_risky UInt64,
    cases_opened UInt64,
    first_responses UInt64,
    responses_within_sla UInt64,
    responses_late UInt64,
    frt_sum_seconds Float64,
    frt_p50_seconds Nullable(Float64),
    frt_p90_seconds Nullable(Float64),
    mentions_answered UInt64,
    ad_comments_answered UInt64,
    cases_resolved UInt64,
    resolution_sum_seconds Float64,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(window_start)
ORDER BY (brand_id, window_start);

CREATE TABLE IF NOT EXISTS ad_metrics_minute (
    ad_id String,
    window_start DateTime('UTC'),
    brand_id String,
    campaign_id Nullable(String),
    comments UInt64,
    comments_negative UInt64,
    comments_risky UInt64,
    comments_unscored UInt64,
    sentiment_sum Float64,
    sentiment_count UInt64,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(window_start)
ORDER BY (ad_id, window_start);

CREATE TABLE IF NOT EXISTS care_cases (
    case_id String,
    brand_id String,
    channel Nullable(String),
    priority String,
    opened_at Nullable(DateTime('UTC')),
    first_response_at Nullable(DateTime('UTC')),
    frt_seconds Nullable(Float64),
    sla_target_seconds Float64,
    sla_status String,
    resolved_at Nullable(DateTime('UTC')),
    reopen_count UInt32,
    source_event_id Nullable(String),
    source_kind Nullable(String),
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY case_id;

CREATE TABLE IF NOT EXISTS brand_status (
    brand_id String,
    open_cases UInt64,
    open_breaches UInt64,
    active_crises UInt64,
    publishing_paused UInt8,
    paused_since Nullable(DateTime('UTC')),
    watermark Nullable(DateTime('UTC')),
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY brand_id;

CREATE TABLE IF NOT EXISTS alerts (
    alert_id String,
    brand_id String,
    ad_id String,
    kind String,
    window_start DateTime('UTC'),
    opened_at DateTime('UTC'),
    detected_at DateTime('UTC'),
    resolved_window Nullable(DateTime('UTC')),
    comments UInt64,
    neg_share Float64,
    risk_share Float64,
    action Nullable(String),
    action_status String,
    attempts UInt32,
    action_latency_ms Nullable(Float64),
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY alert_id;

CREATE TABLE IF NOT EXISTS dead_letter (
    topic String,
    source String,
    partition Int32,
    offset Int64,
    reason String,
    detail String,
    raw String,
    recorded_at DateTime('UTC'),
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (topic, source, partition, offset);

-- The ads dimension (latest row per ad; `deleted` = 1 when a null payload deleted it), for the
-- spend protected while a brand's publishing is paused.
CREATE TABLE IF NOT EXISTS ads (
    ad_id String,
    brand_id String,
    campaign_id Nullable(String),
    platform Nullable(String),
    account_id Nullable(String),
    spend_per_hour Nullable(Float64),
    deleted UInt8,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY ad_id;

-- Current values: one row per key, the highest version. Zero rows (every contribution retracted)
-- are dropped so that a minute row exists exactly when its window has data.
CREATE VIEW IF NOT EXISTS brand_metrics_minute_current AS
SELECT brand_id, window_start,
    tupleElement(t, 1) AS mentions, tupleElement(t, 2) AS mentions_positive,
    tupleElement(t, 3) AS mentions_negative, tupleElement(t, 4) AS mentions_neutral,
    tupleElement(t, 5) AS mentions_unscored, tupleElement(t, 6) AS sentiment_sum,
    tupleElement(t, 7) AS sentiment_count, tupleElement(t, 8) AS reach_sum,
    tupleElement(t, 9) AS ad_comments, tupleElement(t, 10) AS ad_comments_negative,
    tupleElement(t, 11) AS ad_comments_risky, tupleElement(t, 12) AS cases_opened,
    tupleElement(t, 13) AS first_responses, tupleElement(t, 14) AS responses_within_sla,
    tupleElement(t, 15) AS responses_late, tupleElement(t, 16) AS frt_sum_seconds,
    tupleElement(t, 17) AS frt_p50_seconds, tupleElement(t, 18) AS frt_p90_seconds,
    tupleElement(t, 19) AS mentions_answered, tupleElement(t, 20) AS ad_comments_answered,
    tupleElement(t, 21) AS cases_resolved, tupleElement(t, 22) AS resolution_sum_seconds,
    v AS version
FROM (
    SELECT brand_id, window_start, max(version) AS v,
        argMax(tuple(mentions, mentions_positive, mentions_negative, mentions_neutral, mentions_unscored,
            sentiment_sum, sentiment_count, reach_sum, ad_comments, ad_comments_negative, ad_comments_risky,
            cases_opened, first_responses, responses_within_sla, responses_late, frt_sum_seconds,
            frt_p50_seconds, frt_p90_seconds, mentions_answered, ad_comments_answered, cases_resolved,
            resolution_sum_seconds), version) AS t
    FROM brand_metrics_minute
    GROUP BY brand_id, window_start
)
WHERE tupleElement(t, 1) + tupleElement(t, 9) + tupleElement(t, 12) + tupleElement(t, 13)
    + tupleElement(t, 21) + tupleElement(t, 8) > 0;

CREATE VIEW IF NOT EXISTS ad_metrics_minute_current AS
SELECT ad_id, window_start,
    tupleElement(t, 1) AS brand_id, tupleElement(t, 2) AS campaign_id, tupleElement(t, 3) AS comments,
    tupleElement(t, 4) AS comments_negative, tupleElement(t, 5) AS comments_risky,
    tupleElement(t, 6) AS comments_unscored, tupleElement(t, 7) AS sentiment_sum,
    tupleElement(t, 8) AS sentiment_count, v AS version
FROM (
    SELECT ad_id, window_start, max(version) AS v,
        argMax(tuple(brand_id, campaign_id, comments, comments_negative, comments_risky, comments_unscored,
            sentiment_sum, sentiment_count), version) AS t
    FROM ad_metrics_minute
    GROUP BY ad_id, window_start
)
WHERE tupleElement(t, 3) > 0;

CREATE VIEW IF NOT EXISTS care_cases_current AS
SELECT case_id,
    tupleElement(t, 1) AS brand_id, tupleElement(t, 2) AS channel, tupleElement(t, 3) AS priority,
    tupleElement(t, 4) AS opened_at, tupleElement(t, 5) AS first_response_at,
    tupleElement(t, 6) AS frt_seconds, tupleElement(t, 7) AS sla_target_seconds,
    tupleElement(t, 8) AS sla_status, tupleElement(t, 9) AS resolved_at,
    tupleElement(t, 10) AS reopen_count, tupleElement(t, 11) AS source_event_id,
    tupleElement(t, 12) AS source_kind, v AS version
FROM (
    SELECT case_id, max(version) AS v,
        argMax(tuple(brand_id, channel, priority, opened_at, first_response_at, frt_seconds, sla_target_seconds,
            sla_status, resolved_at, reopen_count, source_event_id, source_kind), version) AS t
    FROM care_cases
    GROUP BY case_id
);

CREATE VIEW IF NOT EXISTS brand_status_current AS
SELECT brand_id,
    tupleElement(t, 1) AS open_cases, tupleElement(t, 2) AS open_breaches, tupleElement(t, 3) AS active_crises,
    tupleElement(t, 4) AS publishing_paused, tupleElement(t, 5) AS paused_since,
    tupleElement(t, 6) AS watermark, v AS version
FROM (
    SELECT brand_id, max(version) AS v,
        argMax(tuple(open_cases, open_breaches, active_crises, publishing_paused, paused_since, watermark), version) AS t
    FROM brand_status
    GROUP BY brand_id
);

CREATE VIEW IF NOT EXISTS alerts_current AS
SELECT alert_id,
    tupleElement(t, 1) AS brand_id, tupleElement(t, 2) AS ad_id, tupleElement(t, 3) AS kind,
    tupleElement(t, 4) AS window_start, tupleElement(t, 5) AS opened_at, tupleElement(t, 6) AS detected_at,
    tupleElement(t, 7) AS resolved_window, tupleElement(t, 8) AS comments, tupleElement(t, 9) AS neg_share,
    tupleElement(t, 10) AS risk_share, tupleElement(t, 11) AS action, tupleElement(t, 12) AS action_status,
    tupleElement(t, 13) AS attempts, tupleElement(t, 14) AS action_latency_ms, v AS version
FROM (
    SELECT alert_id, max(version) AS v,
        argMax(tuple(brand_id, ad_id, kind, window_start, opened_at, detected_at, resolved_window, comments,
            neg_share, risk_share, action, action_status, attempts, action_latency_ms), version) AS t
    FROM alerts
    GROUP BY alert_id
);

CREATE VIEW IF NOT EXISTS dead_letter_current AS
SELECT topic, source, partition, offset,
    tupleElement(t, 1) AS reason, tupleElement(t, 2) AS detail, tupleElement(t, 3) AS raw,
    tupleElement(t, 4) AS recorded_at
FROM (
    SELECT topic, source, partition, offset, argMax(tuple(reason, detail, raw, recorded_at), version) AS t
    FROM dead_letter
    GROUP BY topic, source, partition, offset
);

CREATE VIEW IF NOT EXISTS ads_current AS
SELECT ad_id,
    tupleElement(t, 1) AS brand_id, tupleElement(t, 2) AS campaign_id, tupleElement(t, 3) AS platform,
    tupleElement(t, 4) AS account_id, tupleElement(t, 5) AS spend_per_hour
FROM (
    SELECT ad_id, argMax(tuple(brand_id, campaign_id, platform, account_id, spend_per_hour, deleted), version) AS t
    FROM ads
    GROUP BY ad_id
)
WHERE tupleElement(t, 6) = 0;

-- Nearest-rank FRT percentiles (the ceil(p·n)-th smallest, as SPEC §5) per brand and hour/day,
-- computed from the case rows (cases whose first response falls in the period), never averaged.
CREATE VIEW IF NOT EXISTS frt_percentiles_hourly AS
SELECT brand_id, hour,
    arrayElement(arraySort(frts), toUInt64(greatest(1, ceil(0.5 * length(frts))))) AS frt_p50_seconds,
    arrayElement(arraySort(frts), toUInt64(greatest(1, ceil(0.9 * length(frts))))) AS frt_p90_seconds
FROM (
    SELECT brand_id, toStartOfHour(assumeNotNull(first_response_at)) AS hour, groupArray(assumeNotNull(frt_seconds)) AS frts
    FROM care_cases_current
    WHERE isNotNull(opened_at) AND isNotNull(first_response_at)
    GROUP BY brand_id, hour
);

CREATE VIEW IF NOT EXISTS frt_percentiles_daily AS
SELECT brand_id, day,
    arrayElement(arraySort(frts), toUInt64(greatest(1, ceil(0.5 * length(frts))))) AS frt_p50_seconds,
    arrayElement(arraySort(frts), toUInt64(greatest(1, ceil(0.9 * length(frts))))) AS frt_p90_seconds
FROM (
    SELECT brand_id, toDate(assumeNotNull(first_response_at)) AS day, groupArray(assumeNotNull(frt_seconds)) AS frts
    FROM care_cases_current
    WHERE isNotNull(opened_at) AND isNotNull(first_response_at)
    GROUP BY brand_id, day
);

-- Roll-ups: sums and counts of the current minute rows (exact: every column is additive), FRT
-- percentiles from the case rows (frt_percentiles_*), null when the period has no first response.
CREATE VIEW IF NOT EXISTS brand_metrics_hourly AS
SELECT brand_id, hour,
    mentions, mentions_positive, mentions_negative, mentions_neutral, mentions_unscored, sentiment_sum, sentiment_count, reach_sum, ad_comments, ad_comments_negative, ad_comments_risky, cases_opened, first_responses, responses_within_sla, responses_late, frt_sum_seconds, frt_p50_seconds, frt_p90_seconds, mentions_answered, ad_comments_answered, cases_resolved, resolution_sum_seconds
FROM (
    SELECT brand_id, toStartOfHour(window_start) AS hour,
        sum(mentions) AS mentions, sum(mentions_positive) AS mentions_positive, sum(mentions_negative) AS mentions_negative, sum(mentions_neutral) AS mentions_neutral, sum(mentions_unscored) AS mentions_unscored, sum(sentiment_sum) AS sentiment_sum, sum(sentiment_count) AS sentiment_count, sum(reach_sum) AS reach_sum, sum(ad_comments) AS ad_comments, sum(ad_comments_negative) AS ad_comments_negative, sum(ad_comments_risky) AS ad_comments_risky, sum(cases_opened) AS cases_opened, sum(first_responses) AS first_responses, sum(responses_within_sla) AS responses_within_sla, sum(responses_late) AS responses_late, sum(frt_sum_seconds) AS frt_sum_seconds, sum(mentions_answered) AS mentions_answered, sum(ad_comments_answered) AS ad_comments_answered, sum(cases_resolved) AS cases_resolved, sum(resolution_sum_seconds) AS resolution_sum_seconds
    FROM brand_metrics_minute_current
    GROUP BY brand_id, hour
) AS l1 ANY LEFT JOIN (
    SELECT brand_id, hour, toNullable(frt_p50_seconds) AS frt_p50_seconds, toNullable(frt_p90_seconds) AS frt_p90_seconds
    FROM frt_percentiles_hourly
) AS r5 USING (brand_id, hour);

CREATE VIEW IF NOT EXISTS brand_metrics_daily AS
SELECT brand_id, day,
    mentions, mentions_positive, mentions_negative, mentions_neutral, mentions_unscored, sentiment_sum, sentiment_count, reach_sum, ad_comments, ad_comments_negative, ad_comments_risky, cases_opened, first_responses, responses_within_sla, responses_late, frt_sum_seconds, frt_p50_seconds, frt_p90_seconds, mentions_answered, ad_comments_answered, cases_resolved, resolution_sum_seconds
FROM (
    SELECT brand_id, toDate(window_start) AS day,
        sum(mentions) AS mentions, sum(mentions_positive) AS mentions_positive, sum(mentions_negative) AS mentions_negative, sum(mentions_neutral) AS mentions_neutral, sum(mentions_unscored) AS mentions_unscored, sum(sentiment_sum) AS sentiment_sum, sum(sentiment_count) AS sentiment_count, sum(reach_sum) AS reach_sum, sum(ad_comments) AS ad_comments, sum(ad_comments_negative) AS ad_comments_negative, sum(ad_comments_risky) AS ad_comments_risky, sum(cases_opened) AS cases_opened, sum(first_responses) AS first_responses, sum(responses_within_sla) AS responses_within_sla, sum(responses_late) AS responses_late, sum(frt_sum_seconds) AS frt_sum_seconds, sum(mentions_answered) AS mentions_answered, sum(ad_comments_answered) AS ad_comments_answered, sum(cases_resolved) AS cases_resolved, sum(resolution_sum_seconds) AS resolution_sum_seconds
    FROM brand_metrics_minute_current
    GROUP BY brand_id, day
) AS l2 ANY LEFT JOIN (
    SELECT brand_id, day, toNullable(frt_p50_seconds) AS frt_p50_seconds, toNullable(frt_p90_seconds) AS frt_p90_seconds
    FROM frt_percentiles_daily
) AS r6 USING (brand_id, day);

-- Crises and pauses per brand and day (of the opening bucket). A pause lasts from the triggering
-- comment (plus the action's latency when it was sent) until the brand resumed: the end of the
-- resolution bucket when it is no longer paused, else the brand's current watermark. Spend
-- protected = that duration (hours) x the brand's current ads' spend_per_hour, counted on the day
-- the pause began.
CREATE VIEW IF NOT EXISTS crisis_pauses_daily AS
SELECT brand_id, day,
    count() AS crises,
    sum(paused) AS pauses,
    if(sum(paused) = 0, CAST(NULL AS Nullable(Float64)),
        sumIf(onset_to_pause_minutes, paused = 1) / sum(paused)) AS minutes_to_pause,
    sumIf(paused_hours, paused = 1) * any(spend_per_hour) AS spend_protected
FROM (
    SELECT brand_id, day, paused, onset_to_pause_minutes, spend_per_hour,
        greatest(0, (if(publishing_paused = 1 OR isNull(resolved_window),
            toFloat64(ifNull(watermark, toDateTime(0, 'UTC'))),
            toFloat64(assumeNotNull(resolved_window)) + 60) - paused_from) / 3600) AS paused_hours
    FROM (
        SELECT brand_id, day, paused, onset_to_pause_minutes, paused_from, resolved_window, publishing_paused, watermark FROM (
            SELECT brand_id, toDate(window_start) AS day,
                toUInt8(ifNull(action, '') = 'pause_all_publishing') AS paused,
                (toFloat64(opened_at) - toFloat64(window_start)) / 60 + ifNull(action_latency_ms, 0) / 60000 AS onset_to_pause_minutes,
                toFloat64(opened_at) + ifNull(action_latency_ms, 0) / 1000 AS paused_from,
                resolved_window
            FROM alerts_current
        ) AS l3 ANY LEFT JOIN (
            SELECT brand_id, publishing_paused, watermark FROM brand_status_current
        ) AS r7 USING (brand_id)
    ) AS l4 ANY LEFT JOIN (
        SELECT brand_id, sum(ifNull(spend_per_hour, 0)) AS spend_per_hour FROM ads_current GROUP BY brand_id
    ) AS r8 USING (brand_id)
)
GROUP BY brand_id, day;

-- The value-realization dashboard: one row per brand and day.
CREATE VIEW IF NOT EXISTS value_realization_daily AS
SELECT brand_id, day, mentions,
    if(mentions = 0, CAST(NULL AS Nullable(Float64)), mentions_negative / mentions) AS negative_share,
    if(sentiment_count = 0, CAST(NULL AS Nullable(Float64)), sentiment_sum / sentiment_count) AS avg_sentiment,
    cases_opened, first_responses,
    if(first_responses = 0, CAST(NULL AS Nullable(Float64)), responses_within_sla / first_responses) AS sla_attainment,
    frt_p50_seconds AS median_frt_seconds,
    if(mentions = 0, CAST(NULL AS Nullable(Float64)), mentions_answered / mentions) AS answered_share,
    crises, pauses, minutes_to_pause, spend_protected
FROM brand_metrics_daily AS d ANY LEFT JOIN (
    SELECT brand_id, day, crises, pauses, minutes_to_pause, spend_protected FROM crisis_pauses_daily
) AS r9 USING (brand_id, day);
