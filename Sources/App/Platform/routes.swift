import Vapor

func routes(_ app: Application) throws {
    let api = app.grouped("api", "v1")
    api.get("openapi.json", use: OpenAPIController.document)

    HealthController().addRoutes(to: app)
    HomeController().addRoutes(to: app)
    GebieteController().addRoutes(api: api, web: app)
    LoginController().addRoutes(to: app)
    TenantWebController().addRoutes(to: app)
    OperatorWebController().addRoutes(to: app)
    MembershipAPIController().addRoutes(to: api)
    AuditController().addRoutes(api: api, web: app)
    FinderAPIController().addRoutes(to: api)
    FinderWebController().addRoutes(to: app)
    XZuFiController().addRoutes(to: api)
    LeitwegController().addRoutes(api: api, web: app)
    InvoiceController().addRoutes(api: api, web: app)
    InvoiceFormController().addRoutes(web: app)
    DemoMailController().addRoutes(to: app)
    ServicekontoController().addRoutes(to: app)
    IdentityController().addRoutes(to: app)
    OIDCController().addRoutes(to: app)
    OnlineServiceController().addRoutes(api: api, web: app)
    FIMImportController().addRoutes(api: api, web: app)
    FITConnectWebController().addRoutes(to: app)
    ApplicantController().addRoutes(to: app)
    OfficeController().addRoutes(to: app)
    AntragAPIController().addRoutes(to: api)
    XBezahldiensteController().addRoutes(to: app)
    TestProviderController().addRoutes(to: app)
    CashOfficeController().addRoutes(to: app)
    SupplierInvoicesController().addRoutes(to: app)
    PaymentSettingsController().addRoutes(to: app)
    LegalController().addRoutes(to: app)
    ServiceDesignerController().addRoutes(to: app)
    StaffController().addRoutes(to: app)
    ActingTenantController().addRoutes(to: app)
    JobsController().addRoutes(to: app)
    LetterheadController().addRoutes(to: app)
    EventController().addRoutes(api: api, web: app)
    CompetenceCentreController().addRoutes(to: app)
    VisitController().addRoutes(to: app)
    ReachController().addRoutes(to: app)
    FeedbackController().addRoutes(to: app)
    FundingLandController().addRoutes(to: app)
    FundingCaseController().addRoutes(to: app)
    FundingTenantController().addRoutes(to: app)
    FundingAPIController().addRoutes(to: api)
    RolloutController().addRoutes(to: app)
    CockpitController().addRoutes(to: app)
    RolloutAPIController().addRoutes(to: api)
    ISMSAPIController().addRoutes(to: api)
    ProcurementAPIController().addRoutes(to: api)
    ISMSController().addRoutes(to: app)
    ISMSMeasureController().addRoutes(to: app)
    ISMSIncidentController().addRoutes(to: app)
    StaffSecurityController().addRoutes(to: app)
    ProcurementMemberController().addRoutes(to: app)
    ProcurementProviderController().addRoutes(to: app)
    ProcurementDemandController().addRoutes(to: app)
    IdentificationReportController().addRoutes(to: app)
    // RFC 9116: where to report a vulnerability of the platform (part of every member's ISMS)
    app.get(".well-known", "security.txt") { req -> Response in
        let c = req.application.rathaus
        let expires = Audit.timestamp(Date().addingTimeInterval(180 * 86400)).prefix(19) + "Z"
        let body = """
            Contact: \(c.securityContact ?? "mailto:\(c.mailFrom)")
            Expires: \(expires)
            Preferred-Languages: de, en
            Canonical: \(c.publicURL)/.well-known/security.txt

            """
        let res = Response(status: .ok, body: .init(string: body))
        res.headers.replaceOrAdd(name: .contentType, value: "text/plain; charset=utf-8")
        return res
    }
}
