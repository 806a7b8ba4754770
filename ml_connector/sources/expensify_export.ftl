<#-- ml-connector export template: Expensify reports and their expenses as one JSON document. -->
<#-- Every string goes through ?json_string and every number through ?c, so no value can break the JSON. -->
<#-- Amounts are integer cents. amount/currency: as spent; convertedAmount: in the report currency. -->
<#-- reportAmount is the final amount in the report currency, picked as Expensify's own template does: -->
<#-- convertedAmount, else modifiedAmount, else amount. merchant and created prefer the modified values. -->
<#-- Only features of ml_connector/sandbox/freemarker.py are used; test_freemarker_parity.py checks both. -->
{"reports": [
<#list reports as report>
  {"reportID": "${(report.reportID!"")?json_string}",
   "reportName": "${(report.reportName!"")?json_string}",
   "policyID": "${(report.policyID!"")?json_string}",
   "policyName": "${(report.policyName!"")?json_string}",
   "employeeEmail": "${(report.accountEmail!"")?json_string}",
   "employeeName": "${((report.submitter.fullName)!"")?json_string}",
   "managerEmail": "${(report.managerEmail!"")?json_string}",
   "status": "${(report.status!"")?json_string}",
   "state": "${(report.state!"")?json_string}",
   "created": "${(report.created!"")?json_string}",
   "submitted": "${(report.submitted!"")?json_string}",
   "approved": "${(report.approved!"")?json_string}",
   "reimbursed": "${(report.reimbursed!"")?json_string}",
   "currency": "${(report.currency!"")?json_string}",
   "total": ${(report.total!0)?c},
   "expenses": [
  <#list report.transactionList![] as expense>
    <#if expense.modifiedMerchant?has_content>
      <#assign merchant = expense.modifiedMerchant>
    <#else>
      <#assign merchant = expense.merchant!"">
    </#if>
    <#if expense.convertedAmount?has_content>
      <#assign reportAmount = expense.convertedAmount>
    <#elseif expense.modifiedAmount?has_content>
      <#assign reportAmount = expense.modifiedAmount>
    <#else>
      <#assign reportAmount = expense.amount!0>
    </#if>
    <#if expense.modifiedCreated?has_content>
      <#assign created = expense.modifiedCreated>
    <#else>
      <#assign created = expense.created!"">
    </#if>
    {"transactionID": "${(expense.transactionID!"")?json_string}",
     "merchant": "${merchant?json_string}",
     "originalMerchant": "${(expense.merchant!"")?json_string}",
     "created": "${created?json_string}",
     "amount": ${(expense.amount!0)?c},
     "currency": "${(expense.currency!"")?json_string}",
     "modifiedAmount": <#if expense.modifiedAmount?has_content>${expense.modifiedAmount?c}<#else>null</#if>,
     "convertedAmount": <#if expense.convertedAmount?has_content>${expense.convertedAmount?c}<#else>null</#if>,
     "reportAmount": ${reportAmount?c},
     "category": "${(expense.category!"")?json_string}",
     "categoryGlCode": "${(expense.categoryGlCode!"")?json_string}",
     "tag": "${(expense.tag!"")?json_string}",
     "ntag1": "${(expense.ntag1!"")?json_string}",
     "ntag2": "${(expense.ntag2!"")?json_string}",
     "ntag3": "${(expense.ntag3!"")?json_string}",
     "tagGlCode": "${(expense.tagGlCode!"")?json_string}",
     "comment": "${(expense.comment!"")?json_string}",
     "billable": ${(expense.billable!false)?c},
     "reimbursable": ${(expense.reimbursable!true)?c},
     "hasTax": ${(expense.hasTax!false)?c},
     "taxAmount": <#if expense.taxAmount?has_content>${expense.taxAmount?c}<#else>null</#if>,
     "modifiedTaxAmount": <#if expense.modifiedTaxAmount?has_content>${expense.modifiedTaxAmount?c}<#else>null</#if>,
     "taxCode": "${(expense.taxCode!"")?json_string}",
     "taxRateName": "${(expense.taxRateName!"")?json_string}",
     "receiptURL": "${((expense.receiptObject.url)!"")?json_string}"}<#sep>,</#sep>
  </#list>
   ]}<#sep>,</#sep>
</#list>
]}
