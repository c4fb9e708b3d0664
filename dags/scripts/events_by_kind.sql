-- events_by_kind: the ETL job of dags/glue_workflow.yaml. Input table `events`: the crawled
-- catalog table events_db.events (new files only: the job keeps a bookmark). `user` is a
-- struct in the catalog and compact JSON text in SQL, so json_extract() reads its fields;
-- `dt` is the Hive partition column of the files' folders.
SELECT dt,
       kind,
       json_extract(user, '$.country') AS country,
       count(*) AS events,
       round(sum(value), 2) AS total_value
FROM events
GROUP BY dt, kind, country
ORDER BY dt, kind, country
