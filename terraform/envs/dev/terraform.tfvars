# Placeholders for the real project and repository: replace before the first apply.
project_id        = "airline-analytics-dev"
region            = "europe-west1"
prefix            = "ana-dev"
bigquery_location = "EU"
github_repository = "airline-analytics/pipeline"
state_bucket      = "airline-analytics-dev-tfstate"

labels = {
  env  = "dev"
  team = "analytics"
}

# Adding a system: one entry here and its schemas/<table>.json file.
systems = {
  example = {
    table             = "example_table"
    data_api_invokers = ["group:analytics-dev-readers@example.com"]
    ingest            = { min_instances = 0 }
  }
}
