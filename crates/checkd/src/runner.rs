//! Where the scheduler meets the datasources: [`DatasourceRunner`] runs a job with
//! checkd-datasource for the scheduler's [`Runner`] trait. The binary builds both, so it joins
//! them; neither crate depends on the other, and the scheduler's tests run it with runners of
//! their own. It deliberately adds nothing to a run: permits, the timeout backstop and the
//! record are the executor's, the fetch and the evaluation the datasources'.

use async_trait::async_trait;
use checkd_datasource::Datasources;
use checkd_model::plan::Job;
use checkd_model::Outcome;
use checkd_scheduler::Runner;

/// Runs jobs with the plan's datasources.
#[derive(Debug, Clone)]
pub struct DatasourceRunner(pub Datasources);

#[async_trait]
impl Runner for DatasourceRunner {
    async fn run(&self, job: &Job) -> Outcome {
        self.0.run(job).await
    }
}
