// How `report` rebuilds a run's training data for inspection and evaluation (through Experiments):
// the loaders Reporting's `layers`, `explain` and `evaluate` call for a run.
import Experiments
import Foundation
import Reporting
import Store

enum RunLoaders {
    /// Rebuilds a run's configuration and training split from its stored configuration JSON (a
    /// relative CSV path is looked for next to the database file too; `databasePath`: nil for a server).
    static func inspectionLoader(databasePath: String?) -> InspectionLoader {
        { run in
            let configuration = try RunConfiguration.decode(json: run.configJSON, runID: run.id)
            let (training, dataRows, classNames) = try DataCatalog.prepareTraining(configuration.data, databasePath: databasePath)
            return InspectionInputs(configuration: configuration.training, training: training, parameters: { stored in
                try TensorRecords.parameters(stored, configuration: configuration.training, runID: run.id)
            }, dataRows: dataRows, classNames: classNames)
        }
    }

    /// Reads `file` for a run: its stored configuration rebuilt, the run's own data checked and
    /// used for standardization and class order (see `DataCatalog.evaluationData`).
    static func evaluationLoader(file: String, databasePath: String?) -> EvaluationLoader {
        { run in
            let configuration = try RunConfiguration.decode(json: run.configJSON, runID: run.id)
            let prepared = try DataCatalog.evaluationData(for: configuration, file: file, databasePath: databasePath)
            return EvaluationInputs(configuration: prepared.configuration, parameters: { stored in
                                        try TensorRecords.parameters(stored, configuration: prepared.configuration, runID: run.id)
                                    }, data: prepared.data, hasTargets: prepared.hasTargets,
                                    classNames: prepared.classNames, targetName: prepared.targetName, file: file)
        }
    }
}
