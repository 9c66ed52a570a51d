# Placeholders for the real project and repository: replace before the first apply.
project_id        = "airline-analytics-prod"
region            = "europe-west1"
prefix            = "ana-prod"
bigquery_location = "EU"
github_repository = "airline-analytics/pipeline"
state_bucket      = "airline-analytics-prod-tfstate"

labels = {
  env  = "prod"
  team = "analytics"
}

# Adding a system: one entry here and its schemas/<table>.json file.
systems = {
  example = {
    table             = "example_table"
    data_api_invokers = ["group:analytics-readers@example.com"]
    ingest            = { min_instances = 1, max_instances = 20 }
  }
}
