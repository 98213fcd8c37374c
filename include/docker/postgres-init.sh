#!/usr/bin/env bash
# First start of the PostgreSQL container: the Airflow metadata DB, the exchange and a department system.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username postgres <<SQL
create user airflow with password '${AIRFLOW_DB_PASSWORD}';
create database airflow owner airflow;
create user exchange with password '${EXCHANGE_DB_PASSWORD}';
create database exchange owner exchange;
create user citybase with password '${REGISTRY_DB_PASSWORD}';  -- the department systems' owner
create database business_registry owner citybase;
create user housing with password '${HOUSING_DB_PASSWORD}';
create database property_registry owner housing;
create user civil_affairs with password '${CIVIL_REGISTRY_DB_PASSWORD}';
create database civil_registry owner civil_affairs;
SQL
