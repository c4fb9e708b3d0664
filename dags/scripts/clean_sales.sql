-- clean_sales: the Glue ETL job of dags/daily_sales.yaml, run by glue_job's local provider
-- with the SQL engine of `weir sql`. Input table `raw`: the crawled catalog table
-- sales_db.raw_sales (only the files the job's bookmark has not seen yet).
-- Drops rows without quantity or price (and returns), dedupes exact repeats, computes
-- total_sales = quantity x unit_price, and writes every order date as an ISO date
-- (the raw files mix 2026-01-05, 2026-01-05T14:23:11, 05/01/2026 and 2026/01/05).
SELECT DISTINCT
       order_id,
       customer_id,
       product,
       quantity,
       unit_price,
       round(quantity * unit_price, 2) AS total_sales,
       date(CASE
              WHEN order_date LIKE '__/__/____'
                THEN substr(order_date, 7, 4) || '-' || substr(order_date, 4, 2) || '-' ||
                     substr(order_date, 1, 2)
              WHEN order_date LIKE '____/__/__' THEN replace(order_date, '/', '-')
              ELSE order_date
            END) AS order_date,
       region
FROM raw
WHERE quantity IS NOT NULL AND unit_price IS NOT NULL AND quantity > 0
ORDER BY order_id
